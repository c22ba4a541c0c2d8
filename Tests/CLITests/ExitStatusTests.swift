import Foundation
import Testing

/// Exit statuses: 64 with the usage text for a bad flag or value, 1 with the message alone for
/// a failure at run time, which includes every file that cannot be read.
@Suite("exit statuses")
struct ExitStatusTests {
    static let missing = "/nonexistent/bimt-missing-file"

    @Test(
        "a file that cannot be read is a runtime failure: exit 1, the message, no usage text",
        arguments: [
            ["train", "--data", missing], ["train", "--config", missing],
            ["train", "--preset", "charlm", "--text", missing],
            ["train", "--preset", "charlm", "--tokens", missing],
            ["train", "--init", missing], ["train", "--preset", "mnist", "--data", missing],
        ])
    func unreadableFile(arguments: [String]) throws {
        let result = try bimt(arguments + ["--device", "cpu", "--dry-run"])
        #expect(result.status == 1, "exit \(result.status) for \(arguments): \(result.error)")
        #expect(result.error.contains(Self.missing), "\(arguments): \(result.error)")
        #expect(!result.error.contains("Usage:"), "\(arguments): \(result.error)")
    }

    @Test(
        "a value out of range is a usage error: exit 64, naming the flag, with the usage text",
        arguments: [
            (["--snapshot-budget", "1e300"], "--snapshot-budget"),
            (["--preset", "charlm", "--width", "3000000000"], "--width"),
            (["--preset", "modadd", "--modulus", "9223372036854775807"], "--modulus"),
            (["--steps", "0"], "--steps"),
            // Found only once the data are read (a batch's activations past any device).
            (["--preset", "gpt-bench", "--batch-size", "536870912"], "--batch-size"),
        ])
    func outOfRange(arguments: [String], flag: String) throws {
        let result = try bimt(["train"] + arguments + ["--device", "cpu", "--dry-run"])
        #expect(result.status == 64, "exit \(result.status) for \(arguments): \(result.error)")
        #expect(result.error.contains(flag) && result.error.contains("Usage:"), "\(arguments): \(result.error)")
        #expect(!result.error.contains("Fatal error"))
    }
}
