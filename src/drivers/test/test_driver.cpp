// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver: DomainManager over TestBackend, with libvirt test:///default's fixtures, and
// libvirt's lifetime for them: every connection shares one state, which goes back to the
// fixtures when the last connection closes.
#include "drivers/test/test_driver.hpp"

#include <mutex>

#include "drivers/common/domain_manager.hpp"
#include "drivers/network/network_manager.hpp"
#include "drivers/nodedev/node_device_driver.hpp"
#include "drivers/secret/secret_manager.hpp"
#include "drivers/test/test_backend.hpp"
#include "drivers/test/test_host.hpp"
#include "drivers/test/test_node_devices.hpp"
#include "drivers/test/test_storage.hpp"
#include "util/logging.hpp"

namespace corral::drivers {

namespace {

// The same identity and sizes as libvirt's default test domain, so scripts written against
// test:///default find what they expect.
constexpr const char* kDefaultDomainXml = R"(<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
)";

constexpr const char* kDefaultNetworkXml = R"(<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
)";

network::NetworkPaths stateOnlyNetworks() {
    network::NetworkPaths paths;
    paths.stateOnly = true;
    return paths;
}

/// Everything a connection to test:///default can change.
struct TestState {
    DomainManager manager{DomainManagerOptions{"test", nullptr, nullptr, {}, kTestMaxVcpus},
                          std::make_unique<TestBackend>()};
    secret::SecretManager secrets{secret::SecretPaths{}};  // in memory, as libvirt's test driver
    std::unique_ptr<StorageFacet> storage = createTestStorage();
    std::unique_ptr<nodedev::NodeDeviceDriver> devices = createTestNodeDeviceDriver();
    network::NetworkManager networks{nullptr, stateOnlyNetworks()};
};

Result<std::unique_ptr<TestState>> seededState() {
    auto state = std::make_unique<TestState>();
    CORRAL_TRY(state->manager.seedDomain(kDefaultDomainXml, true, true));
    CORRAL_ASSIGN_OR_RETURN(NetworkRef net, state->networks.defineNetwork(kDefaultNetworkXml));
    CORRAL_TRY(state->networks.startNetwork(net));
    return state;
}

class TestDriver;

/// The connections holding the driver; shared with the holds so that one released after the
/// driver is gone (daemon shutdown) finds no driver to reset.
struct ConnectionCount {
    std::mutex mutex;
    unsigned open = 0;
    TestDriver* driver = nullptr;
    void release();
};

class TestDriver final : public HypervisorDriver {
public:
    explicit TestDriver(std::unique_ptr<TestState> state) : state_(std::move(state)) { count_->driver = this; }
    ~TestDriver() override {
        std::lock_guard lock(count_->mutex);
        count_->driver = nullptr;
    }

    std::string name() const override { return "test"; }
    HostInfo* host() override { return &testHostInfo(); }
    DomainLookup* lookup() override { return &state_->manager; }
    DomainConfig* config() override { return &state_->manager; }
    DomainLifecycle* lifecycle() override { return &state_->manager; }
    DomainQueries* queries() override { return &state_->manager; }
    DomainSaveRestore* saveRestore() override { return &state_->manager; }
    DomainStatsQueries* stats() override { return &state_->manager; }
    DomainTuningControl* tuning() override { return &state_->manager; }
    DomainMonitorPassthrough* monitor() override { return &state_->manager; }
    DomainSecurity* security() override { return &state_->manager; }
    DomainConsole* console() override { return &state_->manager; }
    DomainDevices* devices() override { return &state_->manager; }
    DomainContainers* containers() override { return &state_->manager; }
    NetworkFacet* networks() override { return &state_->networks; }
    SecretFacet* secrets() override { return &state_->secrets; }
    StorageFacet* storage() override { return state_->storage.get(); }
    NodeDeviceFacet* ownNodeDevices() override { return state_->devices.get(); }
    InterfaceFacet* ownInterfaces() override { return state_->devices.get(); }
    int addEventSink(DomainEventSink sink) override { return state_->manager.events().subscribe(std::move(sink)); }
    void removeEventSink(int id) override { state_->manager.events().unsubscribe(id); }

    std::shared_ptr<void> holdConnection() override {
        std::lock_guard lock(count_->mutex);
        ++count_->open;
        return std::shared_ptr<void>(nullptr, [count = count_](void*) { count->release(); });
    }

    /// Called with the count's mutex held and no connection open, so no call uses the state.
    void reset() {
        auto fresh = seededState();
        if (!fresh) {
            logError("cannot reset test:///default: " + fresh.error().wireMessage());
            return;
        }
        state_ = std::move(*fresh);
    }

private:
    std::unique_ptr<TestState> state_;
    std::shared_ptr<ConnectionCount> count_ = std::make_shared<ConnectionCount>();
};

void ConnectionCount::release() {
    std::lock_guard lock(mutex);
    if (--open == 0 && driver != nullptr) {
        driver->reset();
    }
}

}  // namespace

Result<std::unique_ptr<HypervisorDriver>> createTestDriver() {
    CORRAL_ASSIGN_OR_RETURN(auto state, seededState().withContext("seeding the test driver"));
    return std::unique_ptr<HypervisorDriver>(std::make_unique<TestDriver>(std::move(state)));
}

}  // namespace corral::drivers
