"""Every aria-describedby on the forms points at an element that exists, so screen readers
read the help texts (Django names `<id>_helptext`; the field template must carry it)."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["campaign_new", "audience_new", "suppression_list"])
def test_aria_describedby_targets_exist(login_as, sim, atoms_settings, url_name):
    page = login_as("admin").get(reverse(url_name)).content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    described = [target for value in re.findall(r'aria-describedby="([^"]+)"', page)
                 for target in value.split()]
    assert described, "the form has help texts to point at"
    assert [target for target in described if target not in ids] == []


@pytest.mark.parametrize(("url_name", "bad_input"), [
    ("campaign_new", {"name": "", "max_retries": "99"}),
    ("audience_new", {"name": ""}),
    ("user_list", {"username": "", "password": "1"}),
    ("password_change", {"old_password": "wrong", "new_password1": "a", "new_password2": "b"}),
])
def test_errors_beside_fields_are_what_the_fields_point_at(login_as, sim, atoms_settings,
                                                           url_name, bad_input):
    response = login_as("admin").post(reverse(url_name), bad_input)
    page = response.content.decode()
    assert response.status_code in (400, 422) and 'aria-invalid="true"' in page
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    described = [target for value in re.findall(r'aria-describedby="([^"]+)"', page)
                 for target in value.split()]
    assert any(target.endswith("_error") for target in described)
    assert [target for target in described if target not in ids] == []
