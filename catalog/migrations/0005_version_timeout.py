from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_function_timeouts(apps, schema_editor):
    """The time limit moves onto the versions: each existing version gets its function's
    current limit, which is what its instances ran with until now."""
    Function = apps.get_model("catalog", "Function")
    FunctionVersion = apps.get_model("catalog", "FunctionVersion")
    limit = Function.objects.filter(pk=OuterRef("function_id")).values("timeout_ms")[:1]
    FunctionVersion.objects.update(timeout_ms=Subquery(limit))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_deployment_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="functionversion",
            name="timeout_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(copy_function_timeouts, migrations.RunPython.noop),
    ]
