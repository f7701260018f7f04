import XCTest
@testable import StrataPipeline
import StrataCore

final class ChangeSceneTests: XCTestCase {
    func smallConfig(seed: UInt64 = 7) -> ChangeSceneConfig {
        var c = ChangeSceneConfig()
        c.width = 96
        c.height = 80
        c.steps = 6
        c.seed = seed
        return c
    }

    func testSameSeedSameScene() {
        let a = ChangeScene(config: smallConfig()), b = ChangeScene(config: smallConfig())
        XCTAssertEqual(a.changeStep, b.changeStep)
        XCTAssertEqual(a.acquisition(step: 3).reflectance, b.acquisition(step: 3).reflectance)
        let c = ChangeScene(config: smallConfig(seed: 8))
        XCTAssertNotEqual(a.acquisition(step: 3).reflectance, c.acquisition(step: 3).reflectance)
    }

    func testTruthIsConsistent() {
        let scene = ChangeScene(config: smallConfig())
        XCTAssertGreaterThan(scene.changedPixelCount, 0, "the scene should hold change events")
        for i in scene.changeStep.indices {
            if scene.changeStep[i] >= 0 {
                XCTAssertNotEqual(scene.coverBefore[i], scene.coverAfter[i])
                XCTAssert((1...4).contains(Int(scene.changeStep[i])), "change after the first and before the last step")
            } else {
                XCTAssertEqual(scene.coverBefore[i], scene.coverAfter[i])
            }
        }
        XCTAssertEqual(scene.dates, ["2021-01-10", "2021-02-09", "2021-03-11", "2021-04-10", "2021-05-10", "2021-06-09"])
    }

    func testCloudCoverAndReflectanceRange() {
        let scene = ChangeScene(config: smallConfig())
        let (reflectance, valid) = scene.acquisition(step: 2)
        let cloudy = Double(valid.filter { $0 == 0 }.count) / Double(valid.count)
        // Clouds cover 8 %; shadows add up to as much again where they do not fall on cloud.
        XCTAssert((0.06...0.17).contains(cloudy), "cloud+shadow fraction \(cloudy)")
        XCTAssert(reflectance.allSatisfy { $0 > 0 && $0 <= 1 })
    }

    func testPhenologyPeaksInSummerForVegetation() {
        let winter = ChangeScene.phenology(.cropland, dayOfYear: 15)
        let summer = ChangeScene.phenology(.cropland, dayOfYear: 190)
        XCTAssertGreaterThan(summer[3], winter[3] + 0.2, "cropland NIR rises by the growing season")
        XCTAssertEqual(ChangeScene.phenology(.urban, dayOfYear: 15)[2], 0.15, accuracy: 0.01)
    }
}
