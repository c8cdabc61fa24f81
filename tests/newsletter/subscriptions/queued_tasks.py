"""Test client whose requests commit as in production, and the tasks they queue run from the broker.

In a test wrapped in a transaction nothing commits, so `delay_on_commit` never queues anything.
CommittingClient runs each request's on-commit callbacks when the request is done, as the commit
would: that puts the task messages on the test's Redis broker. It then takes the messages off the
queue and runs each task here, in this process, so the test reads its emails from mail.outbox.

That covers what each request queues and what each email says. The worker itself (a separate
process, retries with backoff, nothing sent inside the request) is covered with a real worker in
tests/newsletter/test_tasks_subscriptions.py.
"""

from __future__ import annotations

from django.test import Client, TestCase

from config.celery import app


def purge_queue() -> None:
    app.control.purge()


def run_queued_tasks() -> list[list[str]]:
    """Run every task waiting on the default queue, then the tasks those queued, and so on.

    Returns the task names round by round: first those that were waiting (queued by the request),
    then those they queued, in order.
    """
    rounds = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(app.conf.task_default_queue)
        try:
            while waiting := _take_all(queue):
                rounds.append([name for name, _, _ in waiting])
                for name, args, kwargs in waiting:
                    # A task commits too: what it queues on commit goes on the queue, for the next round.
                    with TestCase.captureOnCommitCallbacks(execute=True):
                        app.tasks[name].apply(args=args, kwargs=kwargs).get()  # re-raises a task's error
        finally:
            queue.close()
    return rounds


def _take_all(queue) -> list[tuple[str, list, dict]]:
    taken = []
    while True:
        try:
            message = queue.get(block=False)
        except queue.Empty:
            return taken
        args, kwargs, _ = message.decode()
        taken.append((message.headers["task"], args, kwargs))
        message.ack()


class CommittingClient(Client):
    """Django's test client; after each request, its on-commit callbacks and then its tasks run.

    `tasks_run` holds the names of the tasks of the last request, round by round (run_queued_tasks).
    """

    def request(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = super().request(**request)
        self.tasks_run = run_queued_tasks()
        return response
