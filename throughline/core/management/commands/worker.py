from django.core.management.base import BaseCommand

from throughline.core.worker import Worker


class Command(BaseCommand):
    help = "Run a job worker (several may run on PostgreSQL; they claim with SKIP LOCKED)."

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="append", dest="queues", help="Only these queues")
        parser.add_argument("--interval", type=float, default=0.5, help="Idle poll seconds")
        parser.add_argument("--max-jobs", type=int, default=None)
        parser.add_argument("--until-idle", action="store_true", help="Exit when no job is ready")
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, **opts):
        worker = Worker(
            worker_id=opts["worker_id"],
            queues=opts["queues"],
            interval=opts["interval"],
            max_jobs=opts["max_jobs"],
            exit_when_idle=opts["until_idle"],
        )
        worker.install_signal_handlers()
        ran = worker.run()
        self.stdout.write(f"{ran} jobs run")
