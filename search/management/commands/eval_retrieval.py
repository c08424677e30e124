"""Measure retrieval on an evaluation set against the configured embeddings provider:
recall@5 and MRR of each search mode, so an operator compares models on their own account."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.providers import ProviderError
from search.evaluation import MODES, EvaluationError, evaluate, load_set
from search.services import embeddings_enabled

DEFAULT_SET = Path(settings.BASE_DIR) / "tests" / "benchmarks" / "retrieval"


class Command(BaseCommand):
    help = (
        "Load an evaluation set (sources and questions; the repository's by default) for a "
        "user of its own, embed its passages with the configured provider (one request per "
        "EMBEDDINGS_BATCH_SIZE passages), ask every question in each mode and print recall@5 "
        "and MRR, overall and for the questions that share no word with their answer. "
        "Everything it writes is rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--set",
            dest="directory",
            type=Path,
            default=DEFAULT_SET,
            metavar="DIR",
            help="the evaluation set's directory",
        )
        parser.add_argument(
            "--mode",
            dest="modes",
            action="append",
            choices=MODES,
            metavar="MODE",
            help="text, semantic or hybrid (repeatable; default all three)",
        )

    def handle(self, *args, directory: Path, modes: list[str] | None, **options):
        try:
            evaluation = load_set(directory)
        except EvaluationError as error:
            raise CommandError(str(error)) from None
        if embeddings_enabled():
            self.stdout.write(
                f"embeddings: {settings.EMBEDDINGS_MODEL} ({settings.EMBEDDINGS_DIMENSIONS} "
                f"dimensions) at {settings.EMBEDDINGS_BASE_URL}"
            )
        else:
            self.stdout.write(
                "embeddings are off (EMBEDDINGS_BACKEND=none, or no pgvector): semantic and "
                "hybrid run as text"
            )
        paraphrases = sum(q.paraphrase for q in evaluation.questions)
        self.stdout.write(
            f"{len(evaluation.sources)} sources, {len(evaluation.questions)} questions "
            f"({paraphrases} sharing no word with their answer)"
        )
        try:
            scores = evaluate(
                evaluation, modes=modes or MODES, batch_size=settings.EMBEDDINGS_BATCH_SIZE
            )
        except ProviderError as error:
            raise CommandError(f"embedding the set failed: {error}") from None
        self.stdout.write(f"{'mode':<24} {'recall@5':>9} {'MRR':>6}  ran as")
        for name, score in scores.items():
            ran = ", ".join(sorted(score.ran_as))
            if score.degraded:
                ran += f" ({score.degraded} degraded)"
            self.stdout.write(f"{name:<24} {score.recall_at_5:>9.3f} {score.mrr:>6.3f}  {ran}")
