"""A worker killed part-way through a large upload leaves an upload that can be sent
again, whole and never doubled. Its own module: no other worker may take the task."""

import signal
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.connections import atoms_client
from campaigns.models import UPLOAD_STALLED_AFTER, AudienceUpload
from dashboard.processes import start_worker
from tests.test_audience_upload_worker import BATCH, choose_35_numbers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_an_upload_whose_worker_was_killed_part_way_is_sent_again_whole_never_doubled(
        simulator_process, sim, atoms_settings, login_as):
    """The worker dies after the audience was made with its first batch (the task is lost
    with it: tasks are acknowledged on receipt). The page stops showing progress once the
    upload has not moved for UPLOAD_STALLED_AFTER and offers to send it again; doing so
    deletes the half-made audience and sends the whole file once more."""
    atoms_settings.AUDIENCE_UPLOAD_BATCH = BATCH
    worker = start_worker(simulator_process, beat=False, AUDIENCE_UPLOAD_BATCH=str(BATCH))
    staff = login_as("staff")
    upload = choose_35_numbers(staff, "Killed midway")
    sim.faults(latency_ms=3000, fail_routes=["POST /audience/{id}/members"])
    try:
        staff.post(reverse("audience_upload_confirm", args=[upload.token]))
        deadline = time.monotonic() + 30
        while not AudienceUpload.objects.get().audience_id:
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.05)
        worker.popen.send_signal(signal.SIGKILL)
        worker.popen.wait()
    finally:
        worker.stop()
        sim.clear_faults()
    half_made = AudienceUpload.objects.get().audience_id
    progress = reverse("audience_upload_progress", args=[upload.token])
    assert staff.get(progress).status_code == 200  # still moving, as far as anyone knows
    # No progress for longer than a live upload ever pauses:
    AudienceUpload.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - UPLOAD_STALLED_AFTER - timedelta(seconds=1))
    stalled = staff.get(progress)
    assert stalled.status_code == 286  # polling stops
    assert "The upload stopped after 10 of 35 contacts" in stalled.content.decode()

    replacement = start_worker(simulator_process, beat=False, AUDIENCE_UPLOAD_BATCH=str(BATCH))
    try:
        staff.post(reverse("audience_upload_confirm", args=[upload.token]))
        deadline = time.monotonic() + 30
        while AudienceUpload.objects.get().state == "sending":
            assert time.monotonic() < deadline, replacement.output()
            time.sleep(0.05)
    finally:
        replacement.stop()
    upload.refresh_from_db()
    assert (upload.state, upload.sent_rows) == ("done", 35)
    named = [a.id for a in atoms_client().list_audiences() if a.name == "Killed midway"]
    assert named == [upload.audience_id] and half_made not in named
    assert len(atoms_client().all_audience_members(upload.audience_id)) == 35
