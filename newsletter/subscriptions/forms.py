"""Forms for the subscriber pages: they validate and normalize input, services do the writing."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache

from django import forms
from django.core.exceptions import ValidationError

from newsletter import matching
from newsletter.models import (
    DEFAULT_SEND_HOUR,
    EMAIL_MAX_LENGTH,
    MAX_INTEREST_LENGTH,
    MAX_INTERESTS_PER_SUBSCRIBER,
    PAPERS_PER_DIGEST_DEFAULT,
    PAPERS_PER_DIGEST_MAX,
    PAPERS_PER_DIGEST_MIN,
    TIME_ZONE_MAX_LENGTH,
    Interest,
    Subscriber,
)
from papers.models import Paper
from papers.sources.records import normalize_arxiv_id

INTEREST_EXAMPLES = 'sparse autoencoder\n"mixture of experts" routing\ndiffusion video OR audio -medical'
HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]
CANONICAL_LENGTH = Interest._meta.get_field("canonical").max_length


@dataclass(frozen=True)
class InterestLine:
    text: str
    canonical: str

    @property
    def kind(self) -> str:
        return matching.line_kind(self.text).value


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_email(value: str) -> str:
    """Strip and lower-case the domain; the local part is kept as typed (RFC 5321 says it may matter)."""
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def interest_lines(raw: str) -> list[str]:
    """The non-empty lines of `raw`, stripped: one interest each."""
    return [line for line in (line.strip() for line in raw.splitlines()) if line]


def parse_interest_lines(raw: str) -> list[InterestLine]:
    """One interest per non-empty line; duplicates (same canonical form) are dropped, first one wins.
    No line at all is fine: that reader gets the trending papers.

    The one parser of typed interests (signup, preferences, admin). Raises ValidationError listing
    every bad line, named by its number and text.
    """
    errors: list[str] = []
    result: list[InterestLine] = []
    seen: set[str] = set()
    examples: dict[str, str] = {}  # arXiv id -> the label of the line naming it
    for number, text in enumerate(interest_lines(raw), start=1):
        label = _line_label(number, text)
        try:
            line = line_or_error(text, label=label)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if line.arxiv_id:
            examples.setdefault(line.arxiv_id, label)
        if line.canonical not in seen:
            seen.add(line.canonical)
            result.append(InterestLine(text=text, canonical=line.canonical))
    errors.extend(_unknown_examples(examples))
    if errors:
        raise ValidationError(errors)
    if len(result) > MAX_INTERESTS_PER_SUBSCRIBER:
        raise ValidationError(
            f"You listed {len(result)} interests; the limit is {MAX_INTERESTS_PER_SUBSCRIBER}. "
            "Remove some lines or combine them."
        )
    return result


def _unknown_examples(examples: dict[str, str]) -> list[str]:
    """One message per `like:` line whose paper Paperbox does not have (one query for all)."""
    if not examples:
        return []
    known = set(Paper.objects.filter(arxiv_id__in=list(examples)).values_list("arxiv_id", flat=True))
    return [
        f"{label}: no paper {arxiv_id} in Paperbox. Examples must be papers we list (from Hugging Face "
        "Daily Papers or the arXiv listings we follow): check the id, or pick one from the papers pages."
        for arxiv_id, label in examples.items()
        if arxiv_id not in known
    ]


def canonical_or_error(text: str, *, label: str) -> str:
    """The canonical form of one interest, or a ValidationError whose message starts with `label`."""
    return line_or_error(text, label=label).canonical


def parse_line(text: str) -> matching.Line:
    """matching.parse_line with example ids checked as arXiv ids (`like:arXiv:2401.12345v2` is
    `like:2401.12345`): every caller that reads a subscriber's lines goes through here."""
    return matching.parse_line(text, normalize_id=normalize_arxiv_id)


def line_or_error(text: str, *, label: str) -> matching.Line:
    """One interest line parsed (its kind and canonical form), or a ValidationError whose message
    starts with `label`. A `like:` paper's existence is checked by parse_interest_lines."""
    if len(text) > MAX_INTEREST_LENGTH:
        raise ValidationError(f"{label} is {len(text)} characters long; the limit is {MAX_INTEREST_LENGTH}.")
    try:
        line = parse_line(text)
    except matching.InterestSyntaxError as error:
        raise ValidationError(f"{label}: {error}.") from None
    canonical = line.canonical
    if len(canonical) > CANONICAL_LENGTH:
        # Exclusions and field prefixes spell out longer than they are typed (`-a` is `(not a)`), so a
        # line within the typed limit can still be too long to store.
        raise ValidationError(
            f"{label} has too many terms to store: remove some words or exclusions, or split it "
            "into two interests."
        )
    return line


def _line_label(number: int, text: str) -> str:
    shown = text if len(text) <= 40 else text[:39] + "…"
    return f"Line {number} (“{shown}”)"


class InterestsField(forms.CharField):
    widget = forms.Textarea

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "One interest per line. Leave it empty to get the most upvoted new papers."
        )
        # Generous raw limit: 20 lines of 200 characters plus blank lines; the per-line limits
        # give the precise message.
        super().__init__(max_length=MAX_INTERESTS_PER_SUBSCRIBER * (MAX_INTEREST_LENGTH + 2) + 200, **kwargs)
        self.widget.attrs.update(
            {"id": "id_interests", "rows": 6, "spellcheck": "false", "placeholder": INTEREST_EXAMPLES}
        )

    def clean(self, value: str) -> list[InterestLine]:
        return parse_interest_lines(super().clean(value))


class ScheduleFieldsMixin(forms.Form):
    frequency = forms.ChoiceField(choices=Subscriber.Frequency.choices, initial=Subscriber.Frequency.DAILY)
    weekday = forms.TypedChoiceField(
        label="Weekday (weekly digests)", choices=Subscriber.Weekday.choices, coerce=int, initial=0
    )
    send_hour = forms.TypedChoiceField(
        label="Send time", choices=HOUR_CHOICES, coerce=int, initial=DEFAULT_SEND_HOUR
    )
    time_zone = forms.CharField(
        max_length=TIME_ZONE_MAX_LENGTH,
        initial="UTC",
        help_text="An IANA time zone such as Europe/Paris or America/New_York.",
    )

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value not in available_time_zones():
            raise ValidationError(f"“{value[:64]}” is not a time zone we know; try one like Europe/Paris.")
        return value


def also_trending_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,
        label="Also send the top trending papers my interests did not pick",
        help_text="A short “Also trending” section under your papers. Without interests, "
        "every digest is the trending papers.",
    )


class SignupForm(ScheduleFieldsMixin, forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    interests = InterestsField()
    also_trending = also_trending_field()
    # Honeypot: hidden from people by CSS and from assistive tech by aria-hidden; naive bots fill it.
    website = forms.CharField(required=False, label="Leave this field empty")

    field_order = [
        "email",
        "interests",
        "also_trending",
        "frequency",
        "weekday",
        "send_hour",
        "time_zone",
        "website",
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        self.fields["time_zone"].widget.attrs.update({"data-guess-time-zone": "true"})

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class PreferencesForm(ScheduleFieldsMixin, forms.Form):
    interests = InterestsField()
    also_trending = also_trending_field()
    papers_per_digest = forms.IntegerField(
        min_value=PAPERS_PER_DIGEST_MIN,
        max_value=PAPERS_PER_DIGEST_MAX,
        initial=PAPERS_PER_DIGEST_DEFAULT,
        label="Papers per digest",
    )

    field_order = [
        "interests",
        "also_trending",
        "frequency",
        "weekday",
        "send_hour",
        "time_zone",
        "papers_per_digest",
    ]

    @classmethod
    def for_subscriber(cls, subscriber: Subscriber) -> PreferencesForm:
        initial = {
            "interests": "\n".join(interest.text for interest in subscriber.interests.all()),
            "also_trending": subscriber.also_trending,
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "send_hour": subscriber.send_hour,
            "time_zone": subscriber.time_zone,
            "papers_per_digest": subscriber.papers_per_digest,
        }
        return cls(initial=initial)


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label="New email address",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_new_email(self) -> str:
        return normalize_email(self.cleaned_data["new_email"])


class ManageLinkForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])
