"""The suppression list's new reasons, and Subscriber.email_hash: the key that joins a subscriber to
the suppression list in SQL.

Existing rows are filled in batches by id, with the hash written out here (not imported) so this
migration keeps meaning what it meant when it was written.
"""

import hashlib

from django.db import migrations, models

import newsletter.models

BATCH = 2000


def fill_email_hashes(apps, schema_editor):
    Subscriber = apps.get_model("newsletter", "Subscriber")
    last_id = 0
    while True:
        batch = list(Subscriber.objects.filter(id__gt=last_id).order_by("id").only("id", "email")[:BATCH])
        if not batch:
            return
        for subscriber in batch:
            subscriber.email_hash = hashlib.sha256(subscriber.email.strip().lower().encode()).hexdigest()
        Subscriber.objects.bulk_update(batch, ["email_hash"])
        last_id = batch[-1].id


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="suppression",
            name="reason",
            field=models.CharField(
                choices=[
                    ("erased", "Erased"),
                    ("bounced", "Bounced"),
                    ("invalid", "Invalid address (dropped by the provider)"),
                    ("complained", "Spam complaint"),
                    ("unsubscribed", "Unsubscribed through the provider"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="email_hash",
            field=newsletter.models.EmailHashField(default="", help_text="SHA-256 of the lower-cased address."),
            preserve_default=False,
        ),
        migrations.RunPython(fill_email_hashes, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="subscriber",
            name="email_hash",
            field=newsletter.models.EmailHashField(db_index=True, help_text="SHA-256 of the lower-cased address."),
        ),
        migrations.AddConstraint(
            model_name="subscriber",
            constraint=models.CheckConstraint(
                condition=models.Q(("email_hash", ""), _negated=True), name="subscriber_email_hash_set"
            ),
        ),
    ]
