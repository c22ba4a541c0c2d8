// One libFuzzer entry point for every file bimt reads; BIMT_FUZZ_TARGET picks which:
// safetensors (SafeTensors(bytes:) and every tensor read), idx (IDX.parse), config
// (ConfigurationFile over a preset), snapshot (a network snapshot frame, alone and against
// a model), meta (a token folder's meta.json), checkpoint (a checkpoint's metadata: the
// input is a JSON object of metadata strings, such as permutations, names, step and the
// samplers, laid over a real checkpoint that is then resumed, loaded and drawn) and rundir
// (a run directory for view and render: the input up to its first zero byte is metrics.csv,
// the rest a snapshot frame; then view's page and render's GIF frames are made). Any
// thrown error is a correct answer; a crash, trap or sanitizer report is a bug.
import BIMT
import BIMTCompute
import Foundation

let target = ProcessInfo.processInfo.environment["BIMT_FUZZ_TARGET"] ?? "safetensors"
let base = try! TrainingConfiguration.preset("independence")

/// A finished run of a few steps (config.json, metrics.csv, snapshots and a checkpoint) that
/// the checkpoint and rundir targets start every input from.
struct RunFixture {
    let directory: URL
    let checkpoint: URL
    let goodCheckpoint: Data
    let metadata: [String: String]
    let tensors: [SafeTensors.Tensor]
    let network: SpatialNetwork

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "bimt-fuzz-run-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        var configuration = base
        configuration.steps = 20
        configuration.swapEvery = 10
        configuration.logEvery = 10
        configuration.checkpointEvery = 10
        configuration.batchSize = 32
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run()
        checkpoint = directory.appending(path: Trainer.checkpointName)
        goodCheckpoint = try Data(contentsOf: checkpoint)
        let file = try SafeTensors(bytes: goodCheckpoint, path: "fixture")
        (metadata, tensors) = (file.metadata, file.storedTensors)
        network = trainer.model.network
    }

    /// The checkpoint with `changes` over its metadata.
    func checkpoint(with changes: [String: String]) throws -> Data {
        try SafeTensors.encode(tensors, metadata: metadata.merging(changes) { $1 })
    }
}

nonisolated(unsafe) var fixture: RunFixture?

func runFixture() -> RunFixture {
    if let fixture { return fixture }
    fixture = try! RunFixture()
    return fixture!
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    switch target {
    case "idx":
        _ = try? IDX.parse(bytes, path: "fuzz")
    case "config":
        if let configuration = try? ConfigurationFile.apply(data: bytes, path: "fuzz", over: base) {
            _ = try? configuration.validate()
        }
    case "snapshot":
        _ = try? Snapshots.frame(bytes)
        _ = try? Snapshots.frame(bytes, network: runFixture().network)
    case "meta":
        _ = try? TokenFiles.meta(json: bytes, path: "fuzz/meta.json", vocabulary: nil)
        _ = try? TokenFiles.meta(json: bytes, path: "fuzz/meta.json", vocabulary: 65)
    case "checkpoint":
        let run = runFixture()
        guard let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else { return 0 }
        let changes = object.compactMapValues { $0 as? String }
        // Resuming rewrites metrics.csv: every input starts from the same run directory.
        let metrics = run.directory.appending(path: "metrics.csv"), rows = try? Data(contentsOf: metrics)
        defer {
            try? run.goodCheckpoint.write(to: run.checkpoint)
            try? rows?.write(to: metrics)
        }
        guard let file = try? run.checkpoint(with: changes), (try? file.write(to: run.checkpoint)) != nil else {
            return 0
        }
        _ = try? Trainer.resume(directory: run.directory, device: Device.cpu())
        _ = try? Trainer.load(checkpoint: run.checkpoint, device: Device.cpu())
        _ = try? RunViewer.drawings(runDirectory: run.directory)
    case "rundir":
        let run = runFixture()
        let split = bytes.firstIndex(of: 0) ?? bytes.endIndex
        let metrics = run.directory.appending(path: "metrics.csv")
        let frame = run.directory.appending(path: "snapshots/frame-9999999999.bin")
        let original = try? Data(contentsOf: metrics)
        defer {
            try? original?.write(to: metrics)
            try? FileManager.default.removeItem(at: frame)
        }
        try? bytes[bytes.startIndex..<split].write(to: metrics)
        try? bytes[min(split + 1, bytes.endIndex)...].write(to: frame)
        _ = try? RunViewer.html(runDirectory: run.directory)
        // bimt render --animate: the frames as a GIF (the final network's picture reads only the
        // checkpoint, which the input does not change).
        if let (_, frames, _) = try? RunViewer.drawings(runDirectory: run.directory) {
            for frame in frames { _ = GIF.raster(frame.drawing, width: 120, progress: 0.5, relocated: frame.relocated) }
        }
    default:
        if let file = try? SafeTensors(bytes: bytes, path: "fuzz") {
            for (name, info) in file.tensors {
                switch info.dtype {
                case .f32, .f64: _ = try? file.floats(name)
                case .i64, .i32: _ = try? file.integers(name)
                case .u8: break
                }
            }
        }
    }
    return 0
}

/// libFuzzer's driver: argument parsing, corpus, mutation loop.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable with `main` defined as `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzParsers_main")
func fuzzParsersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
