import Foundation
import StrataCore

/// The synthetic datasets `strata synth` writes, each with ground truth (datasets/README.md).
public enum SynthScenario: String, CaseIterable, Sendable, Codable {
    /// Land-cover change: dated 4-band reflectance GeoTIFFs with clouds, and change truth rasters.
    case change
    /// Per-patient series of 3-D scans with lesions that appear, grow, shrink, merge and vanish (HDF5 + NIfTI).
    case lesions
    /// Field polygons, a season of vegetation-index rasters with clouds, and yield truth per field and pixel.
    case yield
    /// Advecting, growing and decaying rain cells (mm/h): GeoTIFF per step and one HDF5 stack.
    case nowcast
}

/// What the user asked for; `nil` means the scenario's default.
///
/// ```swift
/// var options = SynthOptions(outputDirectory: "/tmp/change")
/// options.width = 64; options.height = 48; options.steps = 6
/// let summary = try Synth.generate(.change, options: options)
/// summary.counts["changed_pixels"]   // e.g. 412
/// ```
public struct SynthOptions: Sendable {
    public var outputDirectory: String
    public var seed: UInt64 = 1
    /// Columns (pixels or voxels).
    public var width: Int?
    /// Rows.
    public var height: Int?
    /// Slices (lesions only).
    public var depth: Int?
    /// Time steps: acquisitions, timepoints or frames.
    public var steps: Int?
    /// Patients (lesions only).
    public var patients: Int?
    /// Fields (yield only).
    public var fields: Int?
    /// Rain events (nowcast only), each its own wind: `event_001/` … when more than one.
    public var events: Int?

    public init(outputDirectory: String, seed: UInt64 = 1) {
        self.outputDirectory = outputDirectory
        self.seed = seed
    }
}

/// What a generator wrote: the files (relative to ``outputDirectory``) and the counts a user checks first.
///
/// Its JSON form (`strata synth --json`) has the keys `scenario`, `output_directory`, `seed`, `files`, `counts`.
public struct SynthSummary: Codable, Sendable, Equatable {
    public var scenario: SynthScenario
    public var outputDirectory: String
    public var seed: UInt64
    /// Paths relative to ``outputDirectory``, in the order written.
    public var files: [String]
    /// Named counts and means, e.g. `changed_pixels`, `lesions`, `fields`, `mean_yield_t_ha`, `frames`.
    public var counts: [String: Double]

    public init(scenario: SynthScenario, outputDirectory: String, seed: UInt64, files: [String],
                counts: [String: Double]) {
        self.scenario = scenario
        self.outputDirectory = outputDirectory
        self.seed = seed
        self.files = files
        self.counts = counts
    }

    enum CodingKeys: String, CodingKey {
        case scenario, seed, files, counts
        case outputDirectory = "output_directory"
    }

    /// A few lines for people: the folder, each count, the number of files.
    public var text: String {
        var lines = ["\(scenario.rawValue): \(files.count) files in \(outputDirectory) (seed \(seed))"]
        for (key, value) in counts.sorted(by: { $0.key < $1.key }) {
            let shown = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4f", value)
            lines.append("  \(key): \(shown)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Entry point of `strata synth`: builds a scenario's configuration from ``SynthOptions`` and writes it.
public enum Synth {
    /// Writes one scenario into `options.outputDirectory` and returns what was written.
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` for sizes or counts the scenario cannot use;
    ///   ``StrataError/outputNotWritable(path:reason:)`` when the folder cannot be written.
    public static func generate(_ scenario: SynthScenario, options: SynthOptions) throws -> SynthSummary {
        try check(options, scenario)
        switch scenario {
        case .change:
            var config = ChangeSceneConfig()
            config.seed = options.seed
            config.width = options.width ?? config.width
            config.height = options.height ?? config.height
            config.steps = options.steps ?? config.steps
            // Keep the default density of change events (8 per 192 × 192 px) at any size.
            config.changeEvents = max(config.changeEvents, config.width * config.height * 8 / (192 * 192))
            return try ChangeScene(config: config).writeDataset(to: options.outputDirectory)
        case .lesions:
            var config = LesionSeriesConfig()
            config.seed = options.seed
            config.width = options.width ?? config.width
            config.height = options.height ?? config.height
            config.depth = options.depth ?? config.depth
            config.timepoints = options.steps ?? config.timepoints
            config.patients = options.patients ?? config.patients
            return try LesionDataset(config: config).write(to: options.outputDirectory)
        case .yield:
            var config = YieldSeasonConfig()
            config.seed = options.seed
            config.width = options.width ?? config.width
            config.height = options.height ?? config.height
            config.steps = options.steps ?? config.steps
            config.fields = options.fields ?? config.fields
            return try YieldSeason(config: config).write(to: options.outputDirectory)
        case .nowcast:
            var config = NowcastConfig()
            config.seed = options.seed
            config.width = options.width ?? config.width
            config.height = options.height ?? config.height
            config.steps = options.steps ?? config.steps
            // Three fifths of the frames are input, the rest the forecasting target (12 + 8 by default).
            config.inputSteps = max(1, config.steps * 3 / 5)
            config.events = options.events ?? config.events
            return try NowcastEvents(config: config).write(to: options.outputDirectory)
        }
    }

    private static func check(_ options: SynthOptions, _ scenario: SynthScenario) throws {
        let minimum = scenario == .lesions ? 8 : 16
        for (name, value) in [("width", options.width), ("height", options.height)] {
            if let value, !(minimum...65_536).contains(value) {
                throw StrataError.invalidArgument(name: "--size", reason: "\(name) \(value) is outside "
                    + "\(minimum)...65536 for \(scenario.rawValue)")
            }
        }
        if let depth = options.depth {
            guard scenario == .lesions else {
                throw StrataError.invalidArgument(name: "--size", reason: "WxHxD is for lesions; "
                    + "\(scenario.rawValue) takes WxH")
            }
            guard (4...4096).contains(depth) else {
                throw StrataError.invalidArgument(name: "--size", reason: "depth \(depth) is outside 4...4096")
            }
        }
        let minimumSteps = scenario == .change ? 4 : 2
        if let steps = options.steps, !(minimumSteps...1000).contains(steps) {
            throw StrataError.invalidArgument(name: "--steps", reason: "\(steps) is outside "
                + "\(minimumSteps)...1000 for \(scenario.rawValue)")
        }
        if let patients = options.patients {
            guard scenario == .lesions, (1...999).contains(patients) else {
                throw StrataError.invalidArgument(name: "--patients", reason: "\(patients): 1...999, lesions only")
            }
        }
        if let events = options.events {
            guard scenario == .nowcast, (1...999).contains(events) else {
                throw StrataError.invalidArgument(name: "--events", reason: "\(events): 1...999, nowcast only")
            }
        }
        if let fields = options.fields {
            guard scenario == .yield, (1...100_000).contains(fields) else {
                throw StrataError.invalidArgument(name: "--fields", reason: "\(fields): 1...100000, yield only")
            }
        }
    }
}
