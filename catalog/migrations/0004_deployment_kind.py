from django.db import migrations, models


def record_connections(apps, schema_editor):
    """Give every instance that has no history yet its first entry: the version it runs,
    recorded as connected when the instance was created."""
    Deployment = apps.get_model("catalog", "Deployment")
    DestinationInstance = apps.get_model("catalog", "DestinationInstance")
    for instance in DestinationInstance.objects.filter(deployments=None).order_by("pk"):
        deployment = Deployment.objects.create(
            function_id=instance.function_id,
            version_id=instance.deployed_version_id,
            kind="connect",
            created_by_id=instance.created_by_id,
        )
        Deployment.objects.filter(pk=deployment.pk).update(created_at=instance.created_at)
        deployment.instances.add(instance)


def forget_connections(apps, schema_editor):
    apps.get_model("catalog", "Deployment").objects.filter(kind="connect").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_function_timeout"),
    ]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="kind",
            field=models.CharField(
                choices=[
                    ("connect", "Connected"),
                    ("deploy", "Deployed"),
                    ("rollback", "Rolled back"),
                ],
                default="deploy",
                max_length=10,
            ),
        ),
        migrations.RunPython(record_connections, forget_connections),
    ]
