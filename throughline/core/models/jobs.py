from django.db import models


class WorkerHeartbeat(models.Model):
    """Last sign of life of each job worker; /readyz needs a fresh one."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    jobs_run = models.BigIntegerField(default=0)


class ScheduleState(models.Model):
    """When each periodic sweep is next due; claimed with a conditional UPDATE."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_lateness_seconds = models.FloatField(default=0)
