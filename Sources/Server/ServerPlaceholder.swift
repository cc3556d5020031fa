/// The HTTP layer (issue 5): Inngest-compatible event API, REST API, dashboard and metrics.
enum ServerModule {}
