import XCTest

/// The same pubsub suite on PostgreSQL (a throwaway server per class).
final class PubsubPostgresTests: PubsubTestCase {
    override class var backend: String { "postgres" }

    func testCatchUpThenLiveAcrossAReconnectOverEachProtocol() throws { try checkCatchUpThenLiveAcrossAReconnect() }
    func testClosingTheConnectionEndsTheSubscription() throws { try checkClosingTheConnectionEndsTheSubscription() }
    func testGapFlagAfterRetention() throws { try checkGapFlagAfterRetention() }
    func testGapFlagWhenAnotherTopicKeepsAnOlderEvent() throws { try checkGapFlagWhenAnotherTopicKeepsAnOlderEvent() }
    func testTenantUserAndFilterIsolationAndThePublishRule() throws { try checkTenantUserAndFilterIsolation() }
    func testSlowConsumerIsCutOffWhileTheRestGoOn() throws { try checkSlowConsumerIsCutOffAndTheRestGoOn() }
    func testKill9KeepsEveryAcknowledgedPublish() throws { try checkKill9KeepsEveryAcknowledgedPublish() }
    func testDurableConsumerResumesAfterKill9() throws { try checkDurableConsumerResumesAfterKill9() }
    func testDurableConsumerAcrossReloadAndRemoval() throws { try checkDurableConsumerAcrossReloadAndRemoval() }
    func testDurableConsumerRetriesThenPutsAside() throws { try checkDurableConsumerRetriesThenPutsAside() }
    func testReloadOfPubsubKeepsConsumersFiltersAndRules() throws { try checkReloadOfPubsubKeepsConsumersFiltersAndRules() }
    func testNewConsumerStartsAtTheOldestEvent() throws { try checkNewConsumerStartsAtTheOldestEvent() }
    func testFiltersApplyToDurableConsumers() throws { try checkFiltersApplyToDurableConsumers() }
    func testMalformedSubscribeIsRefusedAndTheConnectionGoesOn() throws { try checkMalformedSubscribeIsRefusedAndTheConnectionGoesOn() }
    func testEventContextReachesTheLogAndTheHandlers() throws { try checkEventContextReachesTheLogAndTheHandlers() }
    func testABI10PluginPublishesThroughPubsub() throws { try checkABI10PluginPublishesThroughPubsub() }
}
