from __future__ import annotations

import string

import pytest
from django.core.exceptions import ValidationError

from newsletter.matching import canonical_interest
from newsletter.subscriptions.forms import PreferencesForm, SignupForm, normalize_email, parse_interest_lines

# "x -a -b -c … -z -0 … -9 -aa -ab …": 181 characters as typed, 457 in canonical form, where every
# `-a` is spelled `(not a)`. The column holds 400; PostgreSQL refused the row (a 500) before.
EXCLUSIONS = "x " + " ".join(
    f"-{term}" for term in [*string.ascii_lowercase, *string.digits, *(f"a{c}" for c in "abcdefghijklmnopqr")]
)

VALID_SIGNUP = {
    "email": "Ada@Example.ORG",
    "interests": "sparse autoencoder\n\n  diffusion video OR audio  \n",
    "frequency": "daily",
    "weekday": "0",
    "send_hour": "7",
    "time_zone": "Europe/Paris",
}


def test_signup_form_normalizes_email_domain_and_parses_interests():
    form = SignupForm(VALID_SIGNUP)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "Ada@example.org"
    assert [line.text for line in form.cleaned_data["interests"]] == [
        "sparse autoencoder",
        "diffusion video OR audio",
    ]
    assert all(line.canonical for line in form.cleaned_data["interests"])
    assert form.cleaned_data["send_hour"] == 7 and form.cleaned_data["weekday"] == 0


def test_interest_syntax_error_names_the_line_and_position():
    with pytest.raises(ValidationError) as error:
        parse_interest_lines('sparse autoencoder\n"unclosed')
    [message] = error.value.messages
    assert message.startswith('Line 2 (“"unclosed”)')
    assert "unclosed quote at 0" in message


def test_duplicate_interests_by_canonical_form_are_dropped():
    lines = parse_interest_lines("Sparse Autoencoders\nsparse autoencoder\nvision")
    assert [line.text for line in lines] == ["Sparse Autoencoders", "vision"]


def test_too_long_interest_is_rejected_with_its_length():
    with pytest.raises(ValidationError) as error:
        parse_interest_lines("a" * 201)
    assert "is 201 characters long; the limit is 200" in error.value.messages[0]


def test_twenty_one_interests_are_rejected():
    with pytest.raises(ValidationError) as error:
        parse_interest_lines("\n".join(f"topic{n}" for n in range(21)))
    assert "You listed 21 interests; the limit is 20" in error.value.messages[0]


def test_twenty_interests_are_accepted():
    assert len(parse_interest_lines("\n".join(f"topic{n}" for n in range(20)))) == 20


def test_no_interests_is_a_valid_signup_for_the_trending_papers():
    form = SignupForm({**VALID_SIGNUP, "interests": " \n \n"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["interests"] == []
    assert form.cleaned_data["also_trending"] is False
    assert SignupForm({k: v for k, v in VALID_SIGNUP.items() if k != "interests"}).is_valid()


def test_also_trending_is_a_checkbox_of_both_forms():
    assert SignupForm({**VALID_SIGNUP, "also_trending": "on"}).is_valid()
    form = SignupForm({**VALID_SIGNUP, "also_trending": "on"})
    form.is_valid()
    assert form.cleaned_data["also_trending"] is True
    assert 'type="checkbox" name="also_trending"' in str(PreferencesForm()["also_trending"])


def test_unknown_time_zone_is_rejected():
    form = SignupForm({**VALID_SIGNUP, "time_zone": "Mars/Olympus_Mons"})
    assert not form.is_valid()
    assert "is not a time zone we know" in form.errors["time_zone"][0]


def test_send_hour_outside_the_day_is_rejected():
    form = SignupForm({**VALID_SIGNUP, "send_hour": "24"})
    assert not form.is_valid()
    assert "send_hour" in form.errors


def test_honeypot_marks_the_form_as_a_bot():
    form = SignupForm({**VALID_SIGNUP, "website": "http://spam.example"})
    assert form.is_valid()
    assert form.is_bot()


def test_send_hour_choices_are_shown_as_clock_times():
    html = str(SignupForm()["send_hour"])
    assert '<option value="7" selected>07:00</option>' in html
    assert ">23:00<" in html


def test_preferences_form_rejects_papers_per_digest_out_of_range():
    data = {**VALID_SIGNUP, "papers_per_digest": "51"}
    form = PreferencesForm(data)
    assert not form.is_valid()
    assert "papers_per_digest" in form.errors


def test_normalize_email_keeps_local_part_case():
    assert normalize_email("  John.Smith@GMAIL.com ") == "John.Smith@gmail.com"


def test_an_interest_too_long_to_store_in_canonical_form_is_named_with_what_to_do():
    assert len(EXCLUSIONS) == 181 and len(canonical_interest(EXCLUSIONS)) == 457
    with pytest.raises(ValidationError) as caught:
        parse_interest_lines(f"fine\n{EXCLUSIONS}")
    assert caught.value.messages == [
        "Line 2 (“x -a -b -c -d -e -f -g -h -i -j -k -l -…”) has too many terms to store: remove some words "
        "or exclusions, or split it into two interests."
    ]
