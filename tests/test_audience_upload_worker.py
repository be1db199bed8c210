"""A large upload goes to a real Celery worker, batch by batch, and the page shows progress."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.connections import atoms_client
from campaigns.models import AudienceUpload
from dashboard.processes import start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
BATCH = 10


@pytest.fixture(scope="module")
def batch_worker(django_db_setup, simulator_process):
    # No beat: only the upload task matters here; the worker sends BATCH contacts a request.
    worker = start_worker(simulator_process, beat=False, AUDIENCE_UPLOAD_BATCH=str(BATCH))
    yield worker
    worker.stop()


def choose_35_numbers(client, name: str) -> AudienceUpload:
    """A file of 35 numbers chosen for upload (four batches of BATCH): its kept upload."""
    rows = "".join(f"+1415555{n:04d}\n" for n in range(35))
    client.post(reverse("audience_new"), {
        "name": name, "description": "", "phone_column": "", "region": "US",
        "file": SimpleUploadedFile("big.csv", ("phone\n" + rows).encode())})
    return AudienceUpload.objects.get(name=name)


def test_a_large_file_is_sent_by_the_worker_with_progress_until_done(
        batch_worker, sim, atoms_settings, login_as):
    atoms_settings.AUDIENCE_UPLOAD_BATCH = BATCH
    staff = login_as("staff")
    upload = choose_35_numbers(staff, "Big list")
    response = staff.post(reverse("audience_upload_confirm", args=[upload.token]))
    assert response["Location"] == reverse("audience_upload", args=[upload.token])
    progress = reverse("audience_upload_progress", args=[upload.token])

    deadline = time.monotonic() + 30
    seen = set()
    while (answer := staff.get(progress)).status_code == 200:
        upload.refresh_from_db()
        seen.add(upload.sent_rows)
        assert time.monotonic() < deadline, batch_worker.output()
        time.sleep(0.05)
    assert answer.status_code == 286
    upload.refresh_from_db()
    assert (upload.state, upload.sent_rows, upload.total_rows) == ("done", 35, 35)
    assert answer["HX-Redirect"] == reverse("audience_detail", args=[upload.audience_id])
    assert seen <= {0, 10, 20, 30, 35}
    assert len(atoms_client().all_audience_members(upload.audience_id)) == 35
    assert sim.calls_to("POST /audience/{id}/members") == 3

