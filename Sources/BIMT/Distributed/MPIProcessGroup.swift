import CMPI
import Foundation
import Synchronization

/// A `ProcessGroup` over MPI (Open MPI's library, loaded at run time). One thread of its own
/// makes every MPI call, in the order the trainer asks for them, so collectives run beside
/// the training thread. Every wait is watched: after `timeout` seconds the waiting rank asks
/// the others whether they are alive (a rank's MPI thread answers even while its training
/// thread computes); a rank that does not answer is named and the job is aborted, so a rank
/// that died or hangs stops the run within `timeout` plus a few seconds.
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    public let hostName: String
    /// Seconds a wait lasts before the other ranks are checked.
    public let timeout: Double
    /// Seconds a wait may last while every rank still answers (one is far behind, not dead).
    public let behindLimit: Double
    public func noteStep(_ step: Int) { engine.step.store(step, ordering: .relaxed) }

    private let engine: Engine
    private let worker: Worker

    /// How the process was started: by an MPI launcher (which one), or not.
    public static func launcher(in environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> String?
    {
        if let size = environment["OMPI_COMM_WORLD_SIZE"] { return "Open MPI's mpirun (OMPI_COMM_WORLD_SIZE=\(size))" }
        if let rank = environment["PMIX_RANK"] { return "a PMIx launcher (PMIX_RANK=\(rank))" }
        if let size = environment["PMI_SIZE"] { return "a PMI launcher (PMI_SIZE=\(size))" }
        if let tasks = environment["SLURM_STEP_NUM_TASKS"] ?? environment["SLURM_NTASKS"], let count = Int(tasks),
            count > 1,
            environment["SLURM_PROCID"] != nil
        {
            throw BIMTError.distributed(
                "srun started \(count) tasks without an MPI process-management interface, "
                    + "so they cannot find each other: "
                    + "start them with srun's --mpi=pmix (or with mpirun inside the allocation)")
        }
        return nil
    }

    /// The group of this process when an MPI launcher started it (nil otherwise: a plain
    /// single-process run). Throws when the launcher is there but MPI cannot be loaded or
    /// started, saying what to install.
    /// `behindLimit` (default: max(600, 10 x timeout)) is how long a wait may last while every
    /// rank still answers; `.infinity` waits for a live rank however long its work takes.
    public static func start(timeout: Double = 30, behindLimit: Double? = nil) throws -> MPIProcessGroup? {
        guard let launcher = try launcher() else { return nil }
        var reason = [CChar](repeating: 0, count: 1024)
        guard bimt_mpi_load(&reason, reason.count) == 0 else {
            let why = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw BIMTError.distributed(
                "bimt was started by \(launcher) but cannot load MPI: \(why). "
                    + "Install Open MPI (Debian: apt-get install "
                    + "openmpi-bin) or point BIMT_MPI_LIBRARY at its libmpi.so")
        }
        return try MPIProcessGroup(timeout: timeout, behindLimit: behindLimit ?? max(600, 10 * timeout))
    }

    private init(timeout: Double, behindLimit: Double) throws {
        precondition(timeout > 0 && behindLimit > 0)
        self.timeout = timeout
        self.behindLimit = behindLimit
        engine = Engine(timeout: timeout, behindLimit: behindLimit)
        worker = Worker(engine: engine)
        // MPI is initialized on the communication thread, which makes every MPI call after.
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var identity: (Int, Int, Int, Int, String)?
        nonisolated(unsafe) var failure: String?
        let thread = Thread { [engine, worker] in
            do { identity = try engine.initialize() } catch { failure = "\(error)" }
            ready.signal()
            if identity != nil { worker.serve() }
        }
        thread.name = "bimt-mpi"
        thread.stackSize = 1 << 22
        thread.start()
        ready.wait()
        guard let (rank, size, localRank, localSize, host) = identity else {
            throw BIMTError.distributed("MPI could not start: \(failure ?? "unknown reason")")
        }
        (self.rank, self.size, self.localRank, self.localSize, hostName) = (rank, size, localRank, localSize, host)
    }

    // MARK: ProcessGroup

    public func sum(_ values: [Double], _ what: String) throws -> [Double] {
        nonisolated(unsafe) var result = values
        try perform(what) { [engine] in
            try result.withUnsafeMutableBufferPointer { buffer in
                var request = bimt_mpi_request()
                try engine.check(bimt_mpi_iallreduce_double(buffer.baseAddress, Int32(buffer.count), &request), what)
                try engine.complete(&request, what)
            }
        }
        return result
    }

    public func allGather(_ bytes: [UInt8], _ what: String) throws -> [[UInt8]] {
        let count = bytes.count, ranks = size
        nonisolated(unsafe) var gathered = [UInt8](repeating: 0, count: count * ranks)
        try perform(what) { [engine] in
            try bytes.withUnsafeBytes { send in
                try gathered.withUnsafeMutableBytes { receive in
                    var request = bimt_mpi_request()
                    try engine.check(
                        bimt_mpi_iallgather(send.baseAddress, Int32(count), receive.baseAddress, &request), what)
                    try engine.complete(&request, what)
                }
            }
        }
        return (0..<ranks).map { Array(gathered[($0 * count)..<(($0 + 1) * count)]) }
    }

    public func broadcast(_ bytes: [UInt8], root: Int, _ what: String) throws -> [UInt8] {
        nonisolated(unsafe) var buffer = bytes
        try perform(what) { [engine] in
            try buffer.withUnsafeMutableBytes { raw in
                var request = bimt_mpi_request()
                try engine.check(bimt_mpi_ibcast(raw.baseAddress, Int32(raw.count), Int32(root), &request), what)
                try engine.complete(&request, what)
            }
        }
        return buffer
    }

    public func startSum(_ values: UnsafeMutableBufferPointer<Float>, _ what: String) throws -> PendingSum {
        let shared = UncheckedPointer(values)
        let id = try worker.submit(what) { [engine] in
            let start = bimt_mpi_wtime()
            var request = bimt_mpi_request()
            try engine.check(
                bimt_mpi_iallreduce_float(shared.values.baseAddress, Int32(shared.values.count), &request), what)
            try engine.complete(&request, what)
            engine.sumSeconds += bimt_mpi_wtime() - start
            engine.sumBytes += 4 * shared.values.count
        }
        return PendingSum(id: id, count: values.count)
    }

    public func wait(_ pending: PendingSum) throws { try worker.wait(pending.id) }

    /// Seconds the communication thread has spent in `startSum`'s sums, and their bytes (read
    /// after `wait`: the numbers of the sums waited for).
    public var sumStatistics: (seconds: Double, bytes: Int) { (engine.sumSeconds, engine.sumBytes) }

    /// A plain blocking MPI_Allreduce of `values` (the baseline the benchmark compares the
    /// bucketed gradient exchange with); returns its seconds.
    public func plainSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> Double {
        let shared = UncheckedPointer(values)
        nonisolated(unsafe) var seconds = 0.0
        try perform("a plain MPI_Allreduce") { [engine] in
            let start = bimt_mpi_wtime()
            try engine.check(
                bimt_mpi_allreduce_float(shared.values.baseAddress, Int32(shared.values.count)), "MPI_Allreduce")
            seconds = bimt_mpi_wtime() - start
        }
        return seconds
    }

    /// Ends MPI (MPI_Finalize) once every queued operation is done. Call it at a normal end,
    /// and after an error every rank agreed on.
    public func finish() { worker.finish() }

    /// Stops every rank of the job at once (MPI_Abort) after printing `message`: for an error
    /// only this rank has, when waiting for the others would hang them.
    public func abort(_ message: String) -> Never { engine.fatal(message) }

    private func perform(_ what: String, _ body: @escaping () throws -> Void) throws {
        try worker.wait(try worker.submit(what, body))
    }
}

/// The communication thread's queue: operations run one at a time, in the order submitted.
private final class Worker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(id: Int, what: String, body: () throws -> Void)] = []
    private var results: [Int: String?] = [:]
    private var nextID = 0
    private var finishing = false
    private var finished = false
    let engine: Engine

    init(engine: Engine) { self.engine = engine }

    func wait(_ id: Int) throws {
        engine.waiters.add(1, ordering: .relaxed)
        defer { engine.waiters.subtract(1, ordering: .relaxed) }
        condition.lock()
        while results[id] == nil { condition.wait() }
        let failure = results.removeValue(forKey: id)!
        condition.unlock()
        if let failure { throw BIMTError.distributed(failure) }
    }

    func finish() {
        condition.lock()
        guard !finishing else { condition.unlock(); return }
        finishing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    func submit(_ what: String, _ body: @escaping () throws -> Void) throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        guard !finishing else { throw BIMTError.distributed("MPI has been finalized; \(what) cannot run") }
        nextID += 1
        jobs.append((nextID, what, body))
        condition.broadcast()
        return nextID
    }

    func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finishing {
                condition.unlock()
                engine.serviceProbes()
                condition.lock()
                if jobs.isEmpty && !finishing { _ = condition.wait(until: Date(timeIntervalSinceNow: 0.02)) }
            }
            if jobs.isEmpty {
                condition.unlock()
                break
            }
            let job = jobs.removeFirst()
            condition.unlock()
            engine.started += 1
            var failure: String?
            do { try job.body() } catch { failure = "\(error)" }
            condition.lock()
            results[job.id] = .some(failure)
            condition.broadcast()
            condition.unlock()
        }
        engine.shutDown()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A buffer pointer carried to the communication thread (the caller keeps it alive).
private struct UncheckedPointer: @unchecked Sendable {
    let values: UnsafeMutableBufferPointer<Float>
    init(_ values: UnsafeMutableBufferPointer<Float>) { self.values = values }
}

/// The MPI state only the communication thread touches: waits with their watch, and the
/// liveness probes every rank answers.
private final class Engine: @unchecked Sendable {
    let timeout: Double, behindLimit: Double
    /// The training thread's step, for messages.
    let step = Atomic<Int>(0)
    var host = ""
    /// Operations this rank's thread has begun (every rank begins the same ones in order).
    var started = 0
    /// Training threads waiting for an operation to complete.
    let waiters = Atomic<Int>(0)
    /// Seconds and bytes of the gradient sums so far.
    var sumSeconds = 0.0, sumBytes = 0
    var rank = 0, size = 1
    private static let probeTag: Int32 = 0x7B11, replyTag: Int32 = 0x7B12
    private let inbox = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
    private var inboxRequest: bimt_mpi_request?
    private var outgoing: [(request: bimt_mpi_request, buffer: UnsafeMutablePointer<Int64>)] = []
    private var round: Int64 = 0
    private var warned = Set<Int>()

    init(timeout: Double, behindLimit: Double) {
        self.timeout = timeout
        self.behindLimit = behindLimit
    }

    func fatal(_ message: String) -> Never {
        FileHandle.standardError.write(Data("bimt rank \(rank) on \(host): \(message)\n".utf8))
        bimt_mpi_abort(3)
        exit(3)
    }

    func initialize() throws -> (Int, Int, Int, Int, String) {
        try check(bimt_mpi_init(), "MPI_Init_thread")
        var rank: Int32 = 0, size: Int32 = 0, localRank: Int32 = 0, localSize: Int32 = 0
        try check(bimt_mpi_rank(&rank), "MPI_Comm_rank")
        try check(bimt_mpi_size(&size), "MPI_Comm_size")
        try check(bimt_mpi_local(&localRank, &localSize), "MPI_Comm_split_type")
        var name = [CChar](repeating: 0, count: 300)
        try check(bimt_mpi_processor_name(&name, name.count), "MPI_Get_processor_name")
        (self.rank, self.size) = (Int(rank), Int(size))
        host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (Int(rank), Int(size), Int(localRank), Int(localSize), host)
    }

    func check(_ code: Int32, _ what: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 300)
        bimt_mpi_error_string(code, &text, text.count)
        throw BIMTError.distributed(
            "\(what) failed: " + String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Waits for `request`, answering other ranks' probes meanwhile. Every `timeout` seconds
    /// without completion it asks the others whether they are alive: a rank that does not
    /// answer is dead or hung and the job is aborted naming it; when all answer but one stays
    /// behind past `behindLimit`, that one is named.
    func complete(_ request: inout bimt_mpi_request, _ what: String) throws {
        let start = Date()
        var lastCheck = start, polls = 0
        while true {
            var done: Int32 = 0
            try check(bimt_mpi_test(&request, &done), what)
            if done != 0 { return }
            serviceProbes()
            if Date().timeIntervalSince(lastCheck) >= timeout {
                if try checkPeers(&request, what, since: start) { return }
                lastCheck = Date()
            }
            // Open MPI moves a non-blocking collective on only inside MPI calls. While the training
            // thread waits for it, poll without pause; while it computes (a bucket sum overlapping
            // the backward pass), poll every ~50 us and leave it the core; past 2 s, back off.
            polls += 1
            if waiters.load(ordering: .relaxed) > 0 && polls < 200_000 { continue }
            usleep(polls < 40_000 ? 50 : 200)
        }
    }

    /// Asks every other rank where it is; returns true if `request` completed meanwhile.
    private func checkPeers(_ request: inout bimt_mpi_request, _ what: String, since start: Date) throws -> Bool {
        round += 1
        let peers = (0..<size).filter { $0 != rank }
        var receives: [Int: (request: bimt_mpi_request, buffer: UnsafeMutablePointer<Int64>)] = [:]
        for peer in peers {
            let message = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
            (message[0], message[1], message[2], message[3]) = (
                Int64(rank), round, Int64(started), Int64(step.load(ordering: .relaxed))
            )
            var send = bimt_mpi_request()
            try check(bimt_mpi_isend(message, 32, Int32(peer), Self.probeTag, &send), "a liveness probe")
            outgoing.append((send, message))
            let reply = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
            var receive = bimt_mpi_request()
            try check(bimt_mpi_irecv(reply, 32, Int32(peer), Self.replyTag, &receive), "a liveness probe")
            receives[peer] = (receive, reply)
        }
        var answers: [Int: (started: Int, step: Int)] = [:]
        let deadline = Date(timeIntervalSinceNow: min(5, max(1, timeout / 2)))
        var completed = false
        while Date() < deadline && answers.count < peers.count && !completed {
            for (peer, pending) in receives where answers[peer] == nil {
                var receive = pending.request, done: Int32 = 0
                try check(bimt_mpi_test(&receive, &done), "a liveness probe")
                receives[peer]!.request = receive
                if done != 0 && pending.buffer[1] == round {
                    answers[peer] = (Int(pending.buffer[2]), Int(pending.buffer[3]))
                }
            }
            var finishedNow: Int32 = 0
            try check(bimt_mpi_test(&request, &finishedNow), what)
            completed = finishedNow != 0
            serviceProbes()
            usleep(200)
        }
        for (peer, pending) in receives {
            if answers[peer] == nil {
                var receive = pending.request
                _ = bimt_mpi_cancel(&receive)
            }
            // A cancelled receive's buffer could still be written by a late reply in flight: keep it.
            if answers[peer] != nil { pending.buffer.deallocate() }
        }
        if completed { return true }
        let waited = Int(Date().timeIntervalSince(start))
        let silent = peers.filter { answers[$0] == nil }
        if !silent.isEmpty {
            fatal(
                "rank\(silent.count > 1 ? "s" : "") \(silent.map(String.init).joined(separator: ", ")) did not answer "
                    + "while this rank waited \(waited) s in \(what) at step \(step.load(ordering: .relaxed)): "
                    + "dead or hung. Stopping every rank; the last checkpoint is intact "
                    + "(it resumes with any rank count).")
        }
        let behind = answers.filter { $0.value.started < started }.sorted { $0.key < $1.key }
        if Date().timeIntervalSince(start) >= behindLimit, let (peer, where_) = behind.first {
            fatal(
                "rank \(peer) is alive but has not reached \(what) after \(waited) s (it is at step \(where_.step)): "
                    + "stopping every rank; the last checkpoint is intact.")
        }
        for (peer, where_) in behind where !warned.contains(peer) {
            warned.insert(peer)
            FileHandle.standardError.write(
                Data(
                    """
                    bimt rank \(rank): waited \(waited) s in \(what) for rank \(peer), \
                    which answers (at step \(where_.step)): still waiting\n
                    """.utf8))
        }
        return false
    }

    /// Answers any probe that has arrived, and frees finished replies.
    func serviceProbes() {
        if size < 2 { return }
        if inboxRequest == nil {
            var request = bimt_mpi_request()
            guard bimt_mpi_irecv(inbox, 32, -1, Self.probeTag, &request) == 0 else { return }
            inboxRequest = request
        }
        var request = inboxRequest!, done: Int32 = 0
        if bimt_mpi_test(&request, &done) == 0 {
            inboxRequest = done != 0 ? nil : request
            if done != 0 {
                let reply = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
                (reply[0], reply[1], reply[2]) = (Int64(rank), inbox[1], Int64(started))
                reply[3] = Int64(step.load(ordering: .relaxed))
                var send = bimt_mpi_request()
                if bimt_mpi_isend(reply, 32, Int32(inbox[0]), Self.replyTag, &send) == 0 {
                    outgoing.append((send, reply))
                }
            }
        }
        outgoing.removeAll { pending in
            var request = pending.request, done: Int32 = 0
            guard bimt_mpi_test(&request, &done) == 0, done != 0 else { return false }
            pending.buffer.deallocate()
            return true
        }
    }

    func shutDown() {
        if var request = inboxRequest { _ = bimt_mpi_cancel(&request) }
        inboxRequest = nil
        let deadline = Date(timeIntervalSinceNow: 2)
        while !outgoing.isEmpty && Date() < deadline {
            serviceProbes()
            usleep(1000)
        }
        _ = bimt_mpi_finalize()
    }
}
