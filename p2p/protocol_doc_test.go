package p2p

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProtocolStatesParameters checks that PROTOCOL.md section 3 states the
// GossipSub and score parameters this package uses: a second
// implementation reads them there, so a change here must change it too.
func TestProtocolStatesParameters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, "## 3. Gossip"), strings.Index(doc, "## 4. ")
	if start < 0 || end < start {
		t.Fatal("PROTOCOL.md has no section 3")
	}
	section := doc[start:end]
	num := func(v float64) string { return strings.Replace(fmt.Sprint(v), "-", "−", 1) }
	dur := func(d time.Duration) string {
		if d%time.Second == 0 {
			return fmt.Sprintf("%d s", d/time.Second)
		}
		return fmt.Sprintf("%d ms", d/time.Millisecond)
	}
	g, ps, tp := GossipSubParams(), PeerScoreParams(), TopicScoreParams()
	px := map[bool]string{true: "on", false: "off"}[PeerExchange]
	for _, want := range []string{
		fmt.Sprintf("| heartbeat | %s (initial delay %s)", dur(g.HeartbeatInterval), dur(g.HeartbeatInitialDelay)),
		fmt.Sprintf("| D, D_lo, D_hi | %d, %d, %d", g.D, g.Dlo, g.Dhi),
		fmt.Sprintf("| D_score, D_out | %d, %d", g.Dscore, g.Dout),
		fmt.Sprintf("| D_lazy, gossip factor | %d, %v", g.Dlazy, g.GossipFactor),
		fmt.Sprintf("| history length, history gossip | %d, %d heartbeats", g.HistoryLength, g.HistoryGossip),
		fmt.Sprintf("| IDONTWANT threshold | %d bytes", g.IDontWantMessageThreshold),
		fmt.Sprintf("| prune peers (PX) | %d", g.PrunePeers),
		fmt.Sprintf("| peer exchange on prune | %s", px),
		fmt.Sprintf("| gossip retransmission | %d", g.GossipRetransmission),
		fmt.Sprintf("| topic weight | %v", tp.TopicWeight),
		fmt.Sprintf("| P1 time in mesh | weight %v, quantum 1 min, cap %v", tp.TimeInMeshWeight, tp.TimeInMeshCap),
		fmt.Sprintf("| P2 first message deliveries | weight %v, cap %v (at most +5), decay %v", tp.FirstMessageDeliveriesWeight, tp.FirstMessageDeliveriesCap, tp.FirstMessageDeliveriesDecay),
		fmt.Sprintf("| P3 mesh message deliveries | weight %v", tp.MeshMessageDeliveriesWeight),
		fmt.Sprintf("| P3b mesh failure penalty | weight %v", tp.MeshFailurePenaltyWeight),
		fmt.Sprintf("| P4 invalid message deliveries | weight %s on the squared counter, decay %v", num(tp.InvalidMessageDeliveriesWeight), tp.InvalidMessageDeliveriesDecay),
		fmt.Sprintf("| topic score cap | %v", ps.TopicScoreCap),
		fmt.Sprintf("| P5 application-specific score | weight %v", ps.AppSpecificWeight),
		fmt.Sprintf("| P6 IP colocation factor | weight %s, threshold %d", num(ps.IPColocationFactorWeight), ps.IPColocationFactorThreshold),
		fmt.Sprintf("| P7 behaviour penalty | weight %s, threshold %v", num(ps.BehaviourPenaltyWeight), ps.BehaviourPenaltyThreshold),
		fmt.Sprintf("decay %v (to 1 %% in 10 min)", ps.BehaviourPenaltyDecay),
		fmt.Sprintf("| decay interval, decay to zero | %s, %v", dur(ps.DecayInterval), ps.DecayToZero),
		fmt.Sprintf("| gossip threshold | %s", num(GossipThreshold)),
		fmt.Sprintf("| publish threshold | %s", num(PublishThreshold)),
		fmt.Sprintf("| graylist threshold | %s", num(GraylistThreshold)),
		fmt.Sprintf("| accept PX threshold | %v", float64(AcceptPXThreshold)),
		fmt.Sprintf("| opportunistic graft threshold | %v", float64(OpportunisticGraftThreshold)),
	} {
		if !strings.Contains(section, want) {
			t.Errorf("PROTOCOL.md section 3 does not state %q", want)
		}
	}
	if ps.RetainScore.String() != "1h0m0s" || !strings.Contains(section, "| retain score | 1 h") {
		t.Errorf("retain score %v, or not stated", ps.RetainScore)
	}
	for _, ip := range ps.IPColocationFactorWhitelist {
		if s := ip.String(); !strings.Contains(section, strings.TrimSuffix(s, "/128")) {
			t.Errorf("the colocation exemption %s is not stated", s)
		}
	}
}
