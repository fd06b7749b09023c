"""One validation run: options -> profile and target; the deployment, the availability prober
and the verdicts gathered while the scenarios run; the report at the end."""

from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.criteria import CRITERIA
from harness.errors import HarnessError, TargetUnavailable, UsageError
from harness.options import TARGETS, Options
from harness.probes.availability import AvailabilityProber
from harness.profile import Profile
from harness.prometheus import INSTALL, LocalPrometheus, PromQL
from harness.targets import Deployment, Target
from harness.targets.clusters import CLUSTER_TOOLS, CLUSTERS
from harness.targets.local import LocalTarget
from harness.targets.remote import UrlTarget
from harness.verdicts import Report, Sample, Verdict, VerdictValue

__all__ = ["Recorder", "Run", "build_target", "default_report_dir", "preflight_prometheus"]


def default_report_dir() -> Path:
    return Path("reports") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local_only(options: Options) -> list[str]:
    """The flags given that only the local target acts on."""
    given = {
        "--split-roles": options.split_roles,
        "--workers": options.workers is not None,
        "--database postgres": options.database != "sqlite",
        "--failpoints": options.failpoints is not None,
    }
    return [flag for flag, used in given.items() if used]


PROMQL_DURATION = re.compile(r"(\d+(ms|[smhdwy]))+")


def prometheus_mode(options: Options, profile: Profile) -> str:
    """``local`` (a Prometheus server beside the local stack) or ``off``: the flag, else the
    profile's ``observability.prometheus`` for the local target, where ``auto`` is local when
    the prometheus binary is installed (the quick profile: a first run needs nothing more)."""
    if options.prometheus is not None:
        return options.prometheus
    if options.target != "local" or options.prometheus_url:
        return "off"
    mode = str(profile.section("observability").get("prometheus", "off"))
    if mode == "auto":
        return "local" if shutil.which("prometheus") else "off"
    if mode not in ("local", "off"):
        raise UsageError(f"observability.prometheus = {mode!r}: use local, auto or off")
    return mode


def _check_observability(options: Options, profile: Profile) -> None:
    local = prometheus_mode(options, profile) == "local"
    if local and options.target != "local":
        raise UsageError(
            f"--prometheus local: for --target local only; for {options.target}, "
            "point --prometheus-url at the deployment's own Prometheus"
        )
    if local and options.prometheus_url:
        raise UsageError("--prometheus local and --prometheus-url: choose one")
    if options.slo_window and not options.prometheus_url:
        raise UsageError("--slo-window: needs --prometheus-url (the deployment's Prometheus)")
    if options.slo_window and not PROMQL_DURATION.fullmatch(options.slo_window):
        raise UsageError(f"--slo-window {options.slo_window!r}: a PromQL duration, e.g. 7d or 12h")


def preflight_prometheus(options: Options, profile: Profile) -> None:
    """Before a validation: the local Prometheus server it will start is installed, or the
    deployment's Prometheus answers queries."""
    if prometheus_mode(options, profile) == "local" and shutil.which("prometheus") is None:
        raise TargetUnavailable(f"--prometheus local needs the prometheus server: {INSTALL}")
    if options.prometheus_url:
        try:
            PromQL(options.prometheus_url).vector("vector(1)")
        except HarnessError as exc:
            raise TargetUnavailable(f"--prometheus-url: {exc}") from None


def build_target(options: Options, profile: Profile) -> Target:
    _check_observability(options, profile)
    if options.target != "local" and (flags := _local_only(options)):
        raise UsageError(f"{', '.join(flags)}: for --target local only, not {options.target}")
    if options.overlay is not None and options.target not in CLUSTER_TOOLS:
        raise UsageError(
            f"--overlay: for cluster targets ({', '.join(CLUSTER_TOOLS)}) only, "
            f"not {options.target}"
        )
    if options.load_in_cluster and options.target not in CLUSTER_TOOLS:
        raise UsageError(
            f"--load-in-cluster: for cluster targets ({', '.join(CLUSTER_TOOLS)}) "
            f"only, not {options.target}"
        )
    if options.target == "local":
        if options.bus == "dapr":
            raise UsageError("--bus dapr needs Dapr sidecars: use --target compose or a cluster")
        env = {"TASKORA_FAILPOINTS": options.failpoints} if options.failpoints else {}
        return LocalTarget(
            workers=options.workers or int(profile.get("target", "workers")),
            database_url=options.database_url,
            database=options.database,
            bus=options.bus,
            redis_url=options.redis_url,
            env=env,
            ready_timeout=float(profile.get("sc005", "max_s")),
            split_roles=options.split_roles,
        )
    if options.target == "url":
        return UrlTarget(options.url or "", jwt_secret=options.jwt_secret, token=options.token)
    if options.target in CLUSTER_TOOLS:
        return _cluster_target(options, profile)
    if options.target == "compose":
        from harness.targets.compose import ComposeTarget

        return ComposeTarget(bus=options.bus)
    raise UsageError(f"--target {options.target!r}: use one of {', '.join(TARGETS)}")


def _cluster_target(options: Options, profile: Profile) -> Target:
    """``--target kind|minikube|doks`` (SC-001's limit, twice, bounds the wait)."""
    from harness.targets.kubernetes import KubernetesTarget

    target = KubernetesTarget(
        CLUSTERS[options.target].with_overlay(options.overlay),
        image=options.image,
        context=options.kube_context,
        namespace=options.namespace,
        url=options.url,
        jwt_secret=options.jwt_secret,
        database_url=options.database_url,
        ready_timeout=2 * float(profile.get("sc001", "max_s")),
    )
    target.check_image()  # before anything else: a one-line usage error
    return target


class Recorder:
    """What one criterion measured; scenario tests fill it, the plugin adds the outcome."""

    def __init__(self, criterion_id: str) -> None:
        criterion = CRITERIA[criterion_id]
        self.verdict = Verdict(criterion.id, criterion.title, "pass", unit=criterion.unit)
        self.outcomes: list[tuple[str, str]] = []  # (pass|fail|skip|error, reason) per test
        self.summary = ""  # the reason shown when the tests gave none (a pass)

    def record(
        self,
        *,
        measured: float,
        threshold: float,
        samples: list[Sample] | None = None,
        summary: str = "",
        **details: Any,
    ) -> None:
        self.summary = summary or self.summary
        self.verdict.measured = measured
        self.verdict.threshold = threshold
        self.verdict.samples.extend(samples or [])
        self.verdict.details.update(details)

    def note(self, **details: Any) -> None:
        self.verdict.details.update(details)

    def settle(self) -> Verdict:
        """The criterion's verdict: the worst outcome of its tests."""
        order: tuple[VerdictValue, ...] = ("error", "fail", "pass", "skip")
        for value in order:
            reasons = [reason for outcome, reason in self.outcomes if outcome == value]
            if reasons:
                self.verdict.verdict = value
                self.verdict.reason = "; ".join(r for r in reasons if r) or self.summary
                break
        return self.verdict


@dataclass
class Run:
    options: Options
    profile: Profile
    target: Target
    report_dir: Path
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    deployment: Deployment | None = None
    prober: AvailabilityProber | None = None
    recorders: dict[str, Recorder] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # label -> path in report_dir
    prometheus: LocalPrometheus | None = None
    metrics: PromQL | None = None  # the Prometheus that scraped the run, if any
    _since: float = field(default_factory=time.time)  # its series cover the run from here
    _first_scrape: Future[float] | None = None

    def recorder(self, criterion_id: str) -> Recorder:
        if criterion_id not in self.recorders:
            self.recorders[criterion_id] = Recorder(criterion_id)
        return self.recorders[criterion_id]

    def start(self) -> Deployment:
        if prometheus_mode(self.options, self.profile) == "local":
            # started first: its first scrapes (some seconds) overlap the service's start
            assert isinstance(self.target, LocalTarget)
            self.prometheus = LocalPrometheus(
                self.report_dir / "prometheus", self.target.scrape_targets()
            )
            self.prometheus.start()
            self.artifacts["Prometheus data (TSDB) and configuration"] = "prometheus/"
        self.deployment = self.target.up()
        if self.prometheus is not None:
            # Prometheus 2.x applies its first targets about 5 s after it starts: the scenarios
            # run meanwhile, and its series cover the run from its first scrape on.
            pool = ThreadPoolExecutor(1, thread_name_prefix="first-scrape")
            self._first_scrape = pool.submit(self.prometheus.wait_scraping)
            pool.shutdown(wait=False)  # its thread ends with the wait
            self.metrics = PromQL(self.prometheus.url)
        elif self.options.prometheus_url:
            self.metrics = PromQL(self.options.prometheus_url)
        interval = float(self.profile.get("sc007", "interval_s"))
        self.prober = AvailabilityProber(self.deployment.base_url, interval=interval)
        self.prober.start()
        return self.deployment

    @property
    def metrics_since(self) -> float:
        """When the Prometheus that scraped the run first had every target (a Unix time), waited
        for if it has not yet; the run's start without a local Prometheus."""
        if self._first_scrape is not None:
            return self._first_scrape.result()
        return self._since

    def stop(self) -> None:
        if self.prober is not None:
            self.prober.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        if self._first_scrape is not None:  # a stopped Prometheus ends its wait at once
            wait([self._first_scrape])
        self.target.down()

    def report(self) -> Report:
        verdicts = [self.recorders[key].settle() for key in sorted(self.recorders)]
        return Report(
            target=self.options.target,
            profile=self.profile.name,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            criteria=verdicts,
            details={
                "base_url": self.deployment.base_url if self.deployment else None,
                "artifacts": dict(self.artifacts),
            },
        )
