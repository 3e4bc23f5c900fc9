import CKernelABI

/// Everything one plugin instance registered.
struct Registrations: Sendable {
    var endpoints: [EndpointEntry] = []
    var routes: [RouteEntry] = []
    var middleware: [MiddlewareEntry] = []
    var transports: [TransportEntry] = []
    var jobs: [JobEntry] = []
    var eventHandlers: [EventHandlerEntry] = []
    var services: [ServiceEntry] = []
    var schedules: [ScheduleEntry] = []
    var errorHandlers: [ErrorHandlerEntry] = []

    /// Runs every release hook, once, after the last call has drained.
    func releaseUserData() {
        for entry in endpoints { entry.release?(entry.userData) }
        for entry in middleware { entry.release?(entry.userData) }
        for entry in jobs { entry.release?(entry.userData) }
        for entry in eventHandlers { entry.release?(entry.userData) }
        for entry in errorHandlers { entry.release?(entry.userData) }
    }
}
