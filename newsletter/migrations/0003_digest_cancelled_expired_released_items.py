"""Digests that are never sent: `cancelled` and `expired`; their items (and failed ones') are released.

A released item no longer blocks its paper for the subscriber: the (subscriber, paper) constraint
becomes conditional on `released = false`. Items of digests that already failed are released here,
so their papers may reach those subscribers' next digests too.
"""

from django.db import migrations, models

UNSENT_FINAL = ["failed", "cancelled", "expired"]


def release_items_of_unsent_digests(apps, schema_editor):
    DigestItem = apps.get_model("newsletter", "DigestItem")
    DigestItem.objects.filter(digest__status__in=UNSENT_FINAL, released=False).update(released=True)


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0002_suppression_reasons_subscriber_email_hash"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="digest", name="digest_status_valid"),
        migrations.AlterField(
            model_name="digest",
            name="status",
            field=models.CharField(
                choices=[
                    ("planned", "Planned"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("skipped", "Skipped"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                ],
                default="planned",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="digest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["planned", "sending", "sent", "failed", "skipped", "cancelled", "expired"])
                ),
                name="digest_status_valid",
            ),
        ),
        migrations.AlterField(
            model_name="digest",
            name="attempts",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Claims that called the provider, or may have (a worker died mid-send); claims given back without a delivery attempt (401/403, rate limits) do not count.",
            ),
        ),
        migrations.AddField(
            model_name="digestitem",
            name="released",
            field=models.BooleanField(default=False),
        ),
        migrations.RemoveConstraint(model_name="digestitem", name="digestitem_paper_once_per_subscriber"),
        migrations.AddConstraint(
            model_name="digestitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("released", False)),
                fields=("subscriber", "paper"),
                name="digestitem_paper_once_per_subscriber",
            ),
        ),
        migrations.AddIndex(
            model_name="digest",
            index=models.Index(fields=["status", "updated_at"], name="digest_status_updated_idx"),
        ),
        migrations.RunPython(release_items_of_unsent_digests, migrations.RunPython.noop, elidable=True),
    ]
