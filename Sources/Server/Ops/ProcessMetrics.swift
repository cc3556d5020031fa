import CoreMetrics
import Engine
import Prometheus

/// The process's Prometheus registry, where everything reported through swift-metrics lands (EngineMetrics,
/// and whatever a library reports). swift-metrics allows one bootstrap per process, while the tests start
/// many servers in one process: the first server to start bootstraps, the others share it. Series are per
/// process, as Prometheus expects; every server of a test process shows the same counters.
enum ProcessMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[EngineMetrics.stepDuration] =
            EngineMetrics.stepBuckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Bootstraps swift-metrics (once) before anything reports.
    static func start() { _ = registry }
}
