import BIMT
import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Headless Chromium (Debian's `chromium`), or nil where none is installed.
let chromiumBinary: URL? = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap { name -> URL? in
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    return paths.map { URL(fileURLWithPath: String($0)).appending(path: name) }.first {
        FileManager.default.isExecutableFile(atPath: $0.path)
    }
}.first

@Suite("bimt view: the run page, in a browser", .serialized)
struct ViewCLITests {
    static func trainedRun() throws -> URL {
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-view-\(UUID().uuidString)")
        let trained = try bimt([
            "train", "--preset", "independence", "--steps", "600", "--log-every", "100", "--swap-every", "200",
            "--device", "cpu", "--view", "--out", run.path,
        ])
        #expect(trained.status == 0, "\(trained.error)")
        return run
    }

    /// Opens `page#selftest` in headless Chromium and returns the page's self-test result.
    static func selfTest(_ page: URL) throws -> [String: Any] {
        guard let browser = chromiumBinary else { throw CocoaError(.fileNoSuchFile) }
        let process = Process()
        process.executableURL = browser
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
            page.absoluteString + "#selftest",
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let start = try #require(
            dom.range(of: "<pre id=\"selftest\">"), "no self-test result in the page: \(dom.prefix(300))")
        let end = try #require(dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex))
        let text = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("the page draws the network and the curves, the slider changes the drawing, play advances, no console errors")
    func browser() throws {
        guard chromiumBinary != nil else {
            // The OpenCL tests' rule: where real components are required (CI=true or
            // BIMT_REQUIRE_OPENCL=1) a missing browser is a failure, elsewhere a warning.
            Issue.record(
                "no chromium on PATH: the browser test did not run (scripts/install-deps installs it)",
                severity: requireRealComponents ? .error : .warning)
            return
        }
        let run = try Self.trainedRun()
        let frames = try FileManager.default.contentsOfDirectory(atPath: run.appending(path: "snapshots").path).count
        #expect(frames == 7, "frames at step 0 and every 100 steps")
        let page = run.appending(path: "page.html")
        let view = try bimt(["view", run.path, "-o", page.path])
        #expect(view.status == 0, "\(view.error)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(!html.contains("http://") && !html.contains("https://"), "the page must not load anything")
        let result = try Self.selfTest(page)
        #expect(result["frames"] as? Int == 7)
        #expect((result["networkInk"] as? Int ?? 0) > 5000, "\(result)")
        // Each curve, found by its own colour (panel borders, labels and relocation marks have
        // others), crosses most of its panel: 1000 / 4 - 55 = 195 pixels, from the first log step.
        let curveColumns = result["curveColumns"] as? [String: Any] ?? [:]
        #expect(curveColumns.count == 4, "\(result)")
        for key in ["train_loss", "test_loss", "cost", "lambda"] {
            #expect((curveColumns[key] as? Int ?? 0) > 100, "the \(key) curve: \(result)")
        }
        // The slider, moved as a user moves it (its value set, an input event sent), shows frame 0.
        #expect(result["sliderChangesDrawing"] as? Bool == true && result["sliderFrame"] as? Int == 0, "\(result)")
        #expect(result["playAdvanced"] as? Bool == true, "\(result)")
        #expect((result["errors"] as? [Any])?.isEmpty == true, "console errors: \(result["errors"] ?? "")")
    }

    @Test(
        """
        a run without snapshots gets its final network; a truncated frame is reported and the others kept; \
        not a run is an error
        """
    )
    func badRuns() throws {
        let run = try Self.trainedRun()
        #expect(
            FileManager.default.fileExists(atPath: run.appending(path: "view.html").path),
            "train --view writes the page")
        let gif = run.appending(path: "run.gif")
        let animated = try bimt(["render", run.path, "--animate", "-o", gif.path, "--gif-width", "200"])
        #expect(animated.status == 0 && animated.error.contains("7 frames"), "\(animated.error)")
        #expect(try Data(contentsOf: gif).prefix(6) == Data("GIF89a".utf8))
        let notGIF = try bimt(["render", run.path, "--animate", "-o", run.appending(path: "run.svg").path])
        #expect(notGIF.status != 0 && notGIF.error.contains("--animate writes a GIF"))
        let snapshots = run.appending(path: "snapshots")
        let names = try FileManager.default.contentsOfDirectory(atPath: snapshots.path).sorted()
        let truncated = snapshots.appending(path: names[3])
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let (html, problems) = try RunViewer.html(runDirectory: run)
        #expect(
            problems.count == 1 && problems[0].contains(names[3]) && problems[0].contains("truncated"), "\(problems)")
        #expect(html.contains("\"step\":200") && html.contains("\"step\":400") && !html.contains("\"step\":300"))
        try FileManager.default.removeItem(at: snapshots)
        let (old, none) = try RunViewer.html(runDirectory: run)
        #expect(none.isEmpty && old.contains("\"frames\":[{") && old.contains("\"step\":600"))
        let notRun = try bimt(["view", snapshots.deletingLastPathComponent().deletingLastPathComponent().path])
        #expect(notRun.status != 0 && notRun.error.contains("is not a run directory"), "\(notRun.error)")
    }

    @Test("past the budget every other frame goes, the first and the newest stay")
    func budget() throws {
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-snapshots-\(UUID().uuidString)")
        let architecture = MLPArchitecture(widths: [4, 20, 2], activation: .silu)
        let model = try MLP(architecture: architecture, costSettings: CostSettings(), device: Device.cpu())
        try model.initialize(seed: 3)
        // One frame holds 4*20 + 20*2 weights plus headers: about 200 bytes; a 1 KiB budget keeps a few.
        let snapshots = try Snapshots(runDirectory: run, budgetMiB: 1.0 / 1024)
        for step in 0...40 { try snapshots.write(step: step * 10, relocated: step % 4 == 0, model: model) }
        let frames = Snapshots.read(runDirectory: run).frames
        #expect(frames.count >= 2 && frames.count <= 6, "\(frames.map(\.step))")
        #expect(frames.first?.step == 0 && frames.last?.step == 400)
        let steps = frames.map(\.step)
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0 < $1 })
    }
}
