import XCTest

/// The scheduler suite on the embedded SQLite backend (the default).
final class SQLiteSchedulerTests: SchedulerTestCase {
    override class var backend: String { "sqlite" }

    func testJobEnqueuedThroughTheSDKRunsOnceAndCompletes() throws { try checkEnqueuedJobRunsOnceAndCompletes() }
    func testFailingJobIsRetriedWithBackoffThenDiscarded() throws { try checkRetriesWithBackoffThenDiscard() }
    func testFlakyJobCompletesOnItsSecondAttempt() throws { try checkFlakyJobCompletesOnSecondAttempt() }
    func testTimeoutCancelsALongAttemptAndDiscardsIt() throws { try checkTimeoutCancelsTheAttempt() }
    func testSnoozedJobRunsAgainWithoutSpendingAnAttempt() throws { try checkSnoozeRunsAgainWithoutSpendingAnAttempt() }
    func testJobDiscardStopsRetriesAtOnce() throws { try checkDiscardStopsRetries() }
    func testUniqueKeyRefusesASecondUnfinishedJobUntilTheFirstIsCancelled() throws { try checkUniqueKeyRefusesASecondUnfinishedJob() }
    func testBadInputPersistsNothingAndSaysWhy() throws { try checkBadInputPersistsNothingAndSaysWhy() }
    func testQueueRunsNoMoreJobsAtOnceThanItsConcurrency() throws { try checkQueueConcurrencyIsRespected() }
    func testPausedQueueStartsNothingStaysPausedAcrossARestartAndResumes() throws { try checkPauseAndResumeAQueueAcrossARestart() }
    func testRateLimitedQueueStartsAtMostItsRatePerSecond() throws { try checkRateLimitOfAQueue() }
    func testKill9DuringARunOfHundredsOfJobsLosesNone() throws { try checkKill9DuringARunLosesNoJob() }
    func testScheduleDeclaredInCodeFiresAndStaysDisabledAcrossARestart() throws { try checkScheduleDeclaredInCodeFiresAndCanBeDisabled() }
    func testOverlapSkipSkipsFiresWhileTheLastRunIsUnfinished() throws { try checkOverlapSkipSkipsFiresWhileARunIsUnfinished() }
    func testOperatorScheduleFiresRunsNowHasHistoryAndIsRemoved() throws { try checkOperatorScheduleAddRunHistoryRemove() }
    func testNextFireTimesAcrossDaylightSavingMatchCronsim() throws { try checkNextFireTimesAcrossDaylightSaving() }
    func testJobAndScheduleEventsCarryTheirFields() throws { try checkTelemetryEvents() }
    func testReloadOfTheJobsPluginMidQueueLosesNothing() throws { try checkReloadOfTheJobsPluginMidQueueLosesNothing() }
    func testOverlapReplaceCancelsTheRunStillGoing() throws { try checkOverlapReplaceCancelsTheRunningFire() }
    func testOverlapQueueOneStartsTheWaitingFireAsTheRunEnds() throws { try checkOverlapQueueOneRunsTheWaitingFireAfterTheRunningOne() }
    func testMisfireSkipRunsNoMissedFire() throws { try checkMisfirePolicyAfterDowntime("skip") }
    func testMisfireRunOnceRunsTheLatestMissedFire() throws { try checkMisfirePolicyAfterDowntime("run_once") }
    func testMisfireRunAllRunsEveryMissedFire() throws { try checkMisfirePolicyAfterDowntime("run_all") }
    func testOperatorChangesToADeclaredScheduleOutliveRestartAndReload() throws { try checkOperatorChangesToADeclaredScheduleAreKept() }
    func testJobWhoseHandlerIsNotLoadedWaitsAndRunsWhenItIs() throws { try checkJobWaitsForItsHandler() }
}
