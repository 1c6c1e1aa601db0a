// The transfer of `mailsim bench transfer` (sim/run/bench_transfer.c), run in
// ns-3 3.37 (Debian's libns3-dev), so that `make bench-tcp` can set the two
// side by side: two nodes, one point-to-point link, one TCP connection
// (NewReno, SACK, initial window 10, delayed ACKs every second segment or
// 40 ms as Linux) sending N bytes from node 0 (BulkSendApplication) to node 1
// (PacketSink). It prints the line mailsim prints, with sim=ns3.
//
// Loss and counting happen where mailsim does them, on the way from sender
// to receiver: an error model on node 1's device (DataSegmentLoss below)
// reads every packet that reaches it (PPP, IPv4, TCP headers) and counts
// data segments (packets carrying payload), retransmissions (a segment that
// starts below the highest sequence number seen), and numbers the segments
// that start at new data from 1, dropping those on --drop; --loss drops any
// packet from the sender with that probability. ACKs are never lost.
//
// What is set to match mailsim's link and TCP, rather than ns-3's defaults:
// the MSS (the device MTU is MSS + 40), no TCP timestamps, at most 65535
// bytes in flight (TCP-lite's fixed window; see ClampedNewReno), minimum RTO
// 200 ms and initial RTO 1 s (RFC 6298; Linux), a device queue far larger
// than any window and no queue disc (the default FqCoDel would drop on its
// own). Recovery is ns-3's default, PRR (RFC 6937, as Linux); --recovery=
// classic gives RFC 5681's window inflation instead. --growth=bytes makes
// congestion avoidance count the segments each ACK covers (RFC 3465, as
// Linux), --ssthresh=cwnd halves cwnd at a loss (Linux's tcp_reno_ssthresh)
// instead of ns-3's BytesInFlight, which leaves out SACKed and lost segments
// (see ClampedNewReno); bench_tcp.sh uses both by default.
// The one difference left on the wire: PPP's 2-byte header on every packet.
//
// Build (tools/ns3/bench_tcp.sh does it):
//   g++ -std=c++17 -O2 tools/ns3/transfer.cc -o build/ns3-transfer
//       -lns3-core -lns3-network -lns3-internet -lns3-point-to-point
//       -lns3-applications -lns3-traffic-control
// Run: build/ns3-transfer --bytes=1000000 --bandwidth=10Mbps --delay=20ms --drop=3,10

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/ppp-header.h"
#include "ns3/traffic-control-module.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

namespace {

// Drops the listed data segments (by order of first transmission) and,
// with probability `loss`, any packet; counts what crossed the link.
class DataSegmentLoss : public ErrorModel {
  public:
    static TypeId GetTypeId()
    {
        static TypeId tid = TypeId("mailsim::DataSegmentLoss")
                                .SetParent<ErrorModel>()
                                .AddConstructor<DataSegmentLoss>();
        return tid;
    }

    std::vector<uint64_t> drops;   // ascending ordinals from 1
    double loss = 0;
    Ptr<UniformRandomVariable> rng = CreateObject<UniformRandomVariable>();
    uint64_t dataSegments = 0, retransmitted = 0, dropped = 0;
    bool verbose = false;   // one line per packet on stderr

  private:
    bool DoCorrupt(Ptr<Packet> p) override
    {
        Ptr<Packet> c = p->Copy();
        PppHeader ppp;
        c->RemoveHeader(ppp);
        if (ppp.GetProtocol() != 0x0021)   // IPv4
            return false;
        Ipv4Header ip;
        c->RemoveHeader(ip);
        if (ip.GetProtocol() != TcpL4Protocol::PROT_NUMBER)
            return false;
        TcpHeader tcp;
        c->RemoveHeader(tcp);
        uint32_t len = c->GetSize();
        if (tcp.GetFlags() & TcpHeader::SYN) {
            m_iss = tcp.GetSequenceNumber().GetValue();
            m_haveIss = true;
        }
        bool lost = false;
        uint64_t off = 0;
        if (len > 0 && m_haveIss) {
            off = uint32_t(tcp.GetSequenceNumber().GetValue() - m_iss - 1);
            dataSegments++;
            if (off < m_maxEnd)
                retransmitted++;
            else {
                m_ordinal++;
                if (m_nextDrop < drops.size() && drops[m_nextDrop] == m_ordinal) {
                    m_nextDrop++;
                    lost = true;
                }
            }
            m_maxEnd = std::max(m_maxEnd, off + len);
        }
        if (!lost && loss > 0 && rng->GetValue() < loss)
            lost = true;
        if (lost && len > 0)
            dropped++;
        if (verbose)
            std::fprintf(stderr, "%.6f seq=%" PRIu64 " len=%u flags=%02x%s\n",
                         Simulator::Now().GetSeconds(), off, len, unsigned(tcp.GetFlags()),
                         lost ? " lost" : "");
        return lost;
    }

    void DoReset() override
    {}

    bool m_haveIss = false;
    uint32_t m_iss = 0;
    uint64_t m_maxEnd = 0, m_ordinal = 0;
    size_t m_nextDrop = 0;
};

// NewReno whose congestion window never grows past `Clamp` bytes (Linux's
// snd_cwnd_clamp): how the sender is held to the 64 KiB window of TCP-lite,
// which has no window scaling. Holding it with the receive window instead
// (no scaling, a 65535-byte window) crashes ns-3 3.37 (a dangling TcpTxItem
// in TcpRateLinux::SkbSent) as soon as a segment is lost while the sender
// is window-limited; so the receiver scales its window and has room to
// spare, and the limit sits in the sender.
class ClampedNewReno : public TcpNewReno {
  public:
    static TypeId GetTypeId()
    {
        static TypeId tid =
            TypeId("mailsim::ClampedNewReno")
                .SetParent<TcpNewReno>()
                .AddConstructor<ClampedNewReno>()
                .AddAttribute("Clamp", "largest congestion window, bytes (0: none)",
                              UintegerValue(65535), MakeUintegerAccessor(&ClampedNewReno::m_clamp),
                              MakeUintegerChecker<uint32_t>())
                .AddAttribute("ByteCounting",
                              "congestion avoidance grows by the segments an ACK covers (RFC 3465, "
                              "as Linux's tcp_cong_avoid_ai) instead of by one share per ACK",
                              BooleanValue(false),
                              MakeBooleanAccessor(&ClampedNewReno::m_byteCounting),
                              MakeBooleanChecker())
                .AddAttribute("SsThreshFromCwnd",
                              "at a loss, ssthresh = cwnd / 2 (Linux's tcp_reno_ssthresh; RFC "
                              "5681's FlightSize / 2 when the window is full) instead of ns-3's "
                              "BytesInFlight / 2, which leaves out SACKed and lost segments",
                              BooleanValue(false),
                              MakeBooleanAccessor(&ClampedNewReno::m_ssthreshFromCwnd),
                              MakeBooleanChecker());
        return tid;
    }

    ClampedNewReno() = default;
    ClampedNewReno(const ClampedNewReno &other) = default;

    std::string GetName() const override
    {
        return "ClampedNewReno";
    }

    void IncreaseWindow(Ptr<TcpSocketState> tcb, uint32_t segmentsAcked) override
    {
        TcpNewReno::IncreaseWindow(tcb, segmentsAcked);
        if (m_clamp > 0 && tcb->m_cWnd > m_clamp)
            tcb->m_cWnd = m_clamp;
    }

    uint32_t GetSsThresh(Ptr<const TcpSocketState> tcb, uint32_t bytesInFlight) override
    {
        if (!m_ssthreshFromCwnd)
            return TcpNewReno::GetSsThresh(tcb, bytesInFlight);
        return std::max(2 * tcb->m_segmentSize, tcb->m_cWnd.Get() / 2);
    }

  protected:
    // ns-3 3.37's NewReno adds MSS^2/cwnd once per ACK whatever the ACK
    // covers, so with delayed ACKs (two segments an ACK) its window grows by
    // half a segment per round trip. With ByteCounting each segment the ACK
    // covers counts, one segment per round trip as RFC 3465 and Linux.
    void CongestionAvoidance(Ptr<TcpSocketState> tcb, uint32_t segmentsAcked) override
    {
        if (!m_byteCounting) {
            TcpNewReno::CongestionAvoidance(tcb, segmentsAcked);
            return;
        }
        for (uint32_t i = 0; i < segmentsAcked; i++)
            TcpNewReno::CongestionAvoidance(tcb, 1);
    }

  public:
    Ptr<TcpCongestionOps> Fork() override
    {
        return CopyObject<ClampedNewReno>(this);
    }

  private:
    uint32_t m_clamp = 65535;
    bool m_byteCounting = false;
    bool m_ssthreshFromCwnd = false;
};

uint64_t g_bytes = 1000000, g_got = 0;
Time g_done;
bool g_completed = false;

void
OnRx(Ptr<const Packet> p, const Address &)
{
    g_got += p->GetSize();
    if (!g_completed && g_got >= g_bytes) {
        g_completed = true;
        g_done = Simulator::Now();
        Simulator::Stop();
    }
}

bool
ParseDrops(const std::string &text, std::vector<uint64_t> &out)
{
    if (text.empty() || text == "none")
        return true;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos)
            return false;
        uint64_t v = std::stoull(item);
        if (v == 0)
            return false;
        out.push_back(v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
}

}   // namespace

int
main(int argc, char **argv)
{
    std::string bandwidth = "10Mbps", delay = "20ms", drop = "none", sack = "yes", recovery = "prr",
                end = "3600s", growth = "ack", ssthresh = "pipe";
    double loss = 0;
    bool verbose = false;
    uint32_t mss = 1460, iw = 10, seed = 1, wnd = 65535;
    CommandLine cmd;
    cmd.AddValue("bytes", "bytes to send", g_bytes);
    cmd.AddValue("bandwidth", "the link's rate", bandwidth);
    cmd.AddValue("delay", "the link's one-way delay", delay);
    cmd.AddValue("loss", "each packet from sender to receiver lost with this probability", loss);
    cmd.AddValue("drop", "data segments to drop (from 1, order of first transmission)", drop);
    cmd.AddValue("mss", "payload bytes per segment (device MTU = MSS + 40)", mss);
    cmd.AddValue("sack", "SACK: yes or no", sack);
    cmd.AddValue("iw", "initial window in segments", iw);
    cmd.AddValue("recovery", "loss recovery: prr (ns-3's default, as Linux) or classic", recovery);
    cmd.AddValue("end", "give up at this simulated time", end);
    cmd.AddValue("seed", "random seed (the run number)", seed);
    cmd.AddValue("wnd", "largest congestion window in bytes, 0 for none (TCP-lite's window)", wnd);
    cmd.AddValue("growth", "congestion avoidance: ack (ns-3's NewReno) or bytes (RFC 3465)", growth);
    cmd.AddValue("ssthresh",
                 "ssthresh at a loss: pipe (ns-3's BytesInFlight / 2) or cwnd (cwnd / 2, as Linux)",
                 ssthresh);
    cmd.AddValue("verbose", "print every packet from the sender on stderr", verbose);
    cmd.Parse(argc, argv);
    std::vector<uint64_t> drops;
    if (!ParseDrops(drop, drops) || (sack != "yes" && sack != "no") ||
        (recovery != "prr" && recovery != "classic") || (growth != "ack" && growth != "bytes") ||
        g_bytes == 0) {
        std::fprintf(stderr, "ns3-transfer: bad --drop, --sack, --recovery or --bytes\n");
        return 2;
    }
    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(seed);

    Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(ClampedNewReno::GetTypeId()));
    Config::SetDefault("mailsim::ClampedNewReno::Clamp", UintegerValue(wnd));
    Config::SetDefault("mailsim::ClampedNewReno::ByteCounting", BooleanValue(growth == "bytes"));
    Config::SetDefault("mailsim::ClampedNewReno::SsThreshFromCwnd",
                       BooleanValue(ssthresh == "cwnd"));
    Config::SetDefault("ns3::TcpL4Protocol::RecoveryType",
                       TypeIdValue(recovery == "prr" ? TcpPrrRecovery::GetTypeId()
                                                     : TcpClassicRecovery::GetTypeId()));
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(sack == "yes"));
    Config::SetDefault("ns3::TcpSocketBase::Timestamp", BooleanValue(false));
    Config::SetDefault("ns3::TcpSocketBase::WindowScaling", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(200)));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(mss));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(iw));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(2));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(MilliSeconds(40)));
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(Seconds(1)));
    Config::SetDefault("ns3::TcpSocket::DataRetries", UintegerValue(8));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(1 << 20));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(4 << 20));

    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue(bandwidth));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(mss + 40));
    p2p.SetChannelAttribute("Delay", StringValue(delay));
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", StringValue("100000p"));
    NetDeviceContainer devices = p2p.Install(nodes);
    InternetStackHelper stack;
    stack.Install(nodes);
    Ipv4AddressHelper addresses("10.0.0.0", "255.255.255.0");
    Ipv4InterfaceContainer ifaces = addresses.Assign(devices);
    TrafficControlHelper tch;
    tch.Uninstall(devices);

    Ptr<DataSegmentLoss> em = CreateObject<DataSegmentLoss>();
    em->drops = drops;
    em->loss = loss;
    em->verbose = verbose;
    devices.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em));

    const uint16_t port = 5001;
    BulkSendHelper source("ns3::TcpSocketFactory", InetSocketAddress(ifaces.GetAddress(1), port));
    source.SetAttribute("MaxBytes", UintegerValue(g_bytes));
    source.SetAttribute("SendSize", UintegerValue(mss));
    ApplicationContainer apps = source.Install(nodes.Get(0));
    apps.Start(Seconds(0));
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sinks = sink.Install(nodes.Get(1));
    sinks.Start(Seconds(0));
    sinks.Get(0)->TraceConnectWithoutContext("Rx", MakeCallback(&OnRx));

    Time limit(end);
    Simulator::Stop(limit);
    Simulator::Run();
    Simulator::Destroy();

    std::printf("transfer sim=ns3 bytes=%" PRIu64 " bandwidth_bps=%" PRIu64
                " delay_s=%.6f mss=%u loss=%g drop=%s sack=%s seed=%u completed=%s"
                " transfer_time_s=%.6f data_segments=%" PRIu64 " retransmitted_segments=%" PRIu64
                " dropped_segments=%" PRIu64 " iw=%u wnd=%u recovery=%s\n",
                g_bytes, DataRate(bandwidth).GetBitRate(), Time(delay).GetSeconds(), mss, loss,
                drop.c_str(), sack.c_str(), seed, g_completed ? "yes" : "no",
                (g_completed ? g_done : limit).GetSeconds(), em->dataSegments, em->retransmitted,
                em->dropped, iw, wnd, recovery.c_str());
    return g_completed ? 0 : 1;
}
