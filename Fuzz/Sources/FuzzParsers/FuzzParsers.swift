// One libFuzzer entry point for three parsers; BIMT_FUZZ_TARGET picks which:
// safetensors (SafeTensors(bytes:) and every tensor read), idx (IDX.parse), config
// (ConfigurationFile over a preset). Any thrown BIMTError is a correct answer; a crash,
// trap or sanitizer report is a bug.
import BIMT
import Foundation

nonisolated(unsafe) let target = ProcessInfo.processInfo.environment["BIMT_FUZZ_TARGET"] ?? "safetensors"
nonisolated(unsafe) let base = try! TrainingConfiguration.preset("independence")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    switch target {
    case "idx":
        _ = try? IDX.parse(bytes, path: "fuzz")
    case "config":
        if let configuration = try? ConfigurationFile.apply(data: bytes, path: "fuzz", over: base) { _ = try? configuration.validate() }
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
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links an executable with `main` defined as `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzParsers_main")
func fuzzParsersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
