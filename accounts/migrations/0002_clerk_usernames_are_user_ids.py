"""Clerk users' usernames become their UUID primary keys.

They were the Clerk id cut to 150 characters, so two Clerk ids sharing their first 150
characters met on one username. New Clerk users get their UUID as username (see
``accounts.services``); this rewrites the existing ones the same way.
"""

from django.db import migrations


def usernames_from_ids(apps, schema_editor, report=print) -> None:
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.filter(clerk_id__isnull=True).values_list("username", flat=True))
    changed = []
    for user in User.objects.filter(clerk_id__isnull=False).only("id", "username").iterator():
        wanted = str(user.id)
        if user.username == wanted:
            continue
        if wanted in taken:
            # A staff account already has this name: left for a person to look at.
            report(f"accounts: user {user.id} keeps username {user.username!r} ({wanted} is taken)")
            continue
        user.username = wanted
        changed.append(user)
    User.objects.bulk_update(changed, ["username"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        # Backwards the UUID usernames stay: they are valid usernames for the old code too.
        migrations.RunPython(usernames_from_ids, migrations.RunPython.noop, elidable=True),
    ]
