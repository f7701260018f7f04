/// What a ``TiledPrediction`` run produced; the CLI prints it (and `--json` emits it as is).
public struct PredictionSummary: Codable, Equatable, Sendable {
    /// The files written (one, or one per output for NIfTI with several outputs).
    public var outputs: [String]
    /// Output names, one per band / channel / file, e.g. `["change_probability", "change_date"]`.
    public var outputNames: [String]
    /// Image size in pixels and number of planes (1 for a raster, D slices for a volume).
    public var width: Int
    public var height: Int
    public var planes: Int
    /// Window side and overlap used, in pixels.
    public var tile: Int
    public var overlap: Int
    /// Tiles read (over all planes) and, of those, tiles without a valid pixel that were not predicted.
    public var tiles: Int
    public var tilesWithoutData: Int
    /// Wall-clock time of the run in seconds and throughput in megapixels (W · H · planes / 10⁶) per second.
    public var seconds: Double
    public var megapixelsPerSecond: Double
    /// The largest buffers the job held, in bytes: strip accumulator + finished strip + one tile's input and
    /// prediction (see ``TiledPrediction/bufferBytes(width:height:tile:steps:channels:outputs:)``).
    public var peakBufferBytes: Int
    /// Output pixels (over all planes) written as nodata because no step of their input is valid.
    public var nodataPixels: Int
    /// Things the user should know, one sentence each (the CLI prints them as warnings).
    public var warnings: [String]
}
