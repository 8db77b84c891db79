#!/usr/bin/perl
# Sys::Virt (libsys-virt-perl), the Perl binding, driving one connection through what a Perl
# tool does: host facts, the old and new list calls of every family, a guest's life, a network,
# a storage pool with a volume, a secret. Each step prints one line, "STEP <name> ok <value>" or
# "STEP <name> fail <message>", and the script goes on after a failure, so the test sees every
# step's outcome. Arguments: URI GUEST_XML_FILE NET_XML_FILE POOL_XML_FILE.
use strict;
use warnings;
use Sys::Virt;

my ($uri, $guest_file, $net_file, $pool_file) = @ARGV;
sub slurp { my ($f) = @_; open(my $h, '<', $f) or die "$f: $!"; local $/; my $t = <$h>; close $h; return $t; }
$| = 1;

sub step {
    my ($name, $code) = @_;
    my $value = eval { $code->() };
    if ($@) {
        my $msg = ref($@) ? $@->message : "$@";
        $msg =~ s/\n/ /g;
        print "STEP $name fail $msg\n";
        return undef;
    }
    $value = '' unless defined $value;
    $value =~ s/\n/ /g;
    print "STEP $name ok $value\n";
    return 1;
}

my $c;
step('connect', sub { $c = Sys::Virt->new(uri => $uri); 'connected' }) or exit 0;
step('get_type', sub { $c->get_type() });
step('get_hostname', sub { $c->get_hostname() });
step('get_node_info', sub { my $n = $c->get_node_info(); "cpus=$n->{cpus} memory=$n->{memory}" });
step('get_capabilities', sub { $c->get_capabilities() =~ /<host>/ ? 'has host' : die "no <host>\n" });
step('get_max_vcpus', sub { $c->get_max_vcpus('qemu') });
step('get_library_version', sub { $c->get_library_version() });

my $dom;
step('define_domain', sub { $dom = $c->define_domain(slurp($guest_file)); $dom->get_name() });
step('list_defined_domains', sub { join(',', map { $_->get_name() } $c->list_defined_domains()) });
step('num_of_defined_domains', sub { $c->num_of_defined_domains() });
step('list_all_domains', sub { join(',', map { $_->get_name() } $c->list_all_domains()) });
step('domain get_uuid_string', sub { $dom->get_uuid_string() });
step('domain get_id (inactive)', sub { $dom->get_id() });
step('domain create', sub { $dom->create(); 'started' });
step('list_domains', sub { join(',', map { $_->get_name() } $c->list_domains()) });
step('num_of_domains', sub { $c->num_of_domains() });
step('domain get_info', sub { my $i = $dom->get_info(); "state=$i->{state} maxMem=$i->{maxMem} nrVirtCpu=$i->{nrVirtCpu}" });
step('domain is_active', sub { $dom->is_active() });
step('domain suspend', sub { $dom->suspend(); $dom->get_info()->{state} });
step('domain resume', sub { $dom->resume(); $dom->get_info()->{state} });
step('domain get_xml_description', sub { $dom->get_xml_description() =~ /<name>perlguest<\/name>/ ? 'has name' : die "no name\n" });
step('domain get_vcpus', sub { scalar(my @v = $dom->get_vcpu_info()) });
step('domain set_autostart', sub { $dom->set_autostart(1); $dom->get_autostart() });
step('domain destroy', sub { $dom->destroy(); $dom->get_info()->{state} });
step('domain set_autostart off', sub { $dom->set_autostart(0); $dom->get_autostart() });
step('domain undefine', sub { $dom->undefine(); 'undefined' });
step('get_domain_by_name (gone)', sub { $c->get_domain_by_name('perlguest'); 'still there' });

my $net;
step('define_network', sub { $net = $c->define_network(slurp($net_file)); $net->get_name() });
step('list_defined_networks', sub { join(',', map { $_->get_name() } $c->list_defined_networks()) });
step('num_of_defined_networks', sub { $c->num_of_defined_networks() });
step('network create', sub { $net->create(); $net->is_active() });
step('list_networks', sub { join(',', map { $_->get_name() } $c->list_networks()) });
step('num_of_networks', sub { $c->num_of_networks() });
step('list_all_networks', sub { join(',', map { $_->get_name() } $c->list_all_networks()) });
step('network get_bridge_name', sub { $net->get_bridge_name() });
step('network get_dhcp_leases', sub { scalar(my @l = $net->get_dhcp_leases()) });
step('network destroy', sub { $net->destroy(); $net->is_active() });
step('network undefine', sub { $net->undefine(); 'undefined' });

my ($pool, $vol);
step('define_storage_pool', sub { $pool = $c->define_storage_pool(slurp($pool_file)); $pool->get_name() });
step('list_defined_storage_pools', sub { join(',', map { $_->get_name() } $c->list_defined_storage_pools()) });
step('storage pool build', sub { $pool->build(); 'built' });
step('storage pool create', sub { $pool->create(); $pool->is_active() });
step('list_storage_pools', sub { join(',', map { $_->get_name() } $c->list_storage_pools()) });
step('num_of_storage_pools', sub { $c->num_of_storage_pools() });
step('storage pool get_info', sub { my $i = $pool->get_info(); "state=$i->{state}" });
step('storage pool create_volume', sub {
    $vol = $pool->create_volume("<volume><name>v1.qcow2</name><capacity unit='M'>8</capacity>"
                                . "<target><format type='qcow2'/></target></volume>");
    $vol->get_name() });
step('storage pool list_volumes', sub { join(',', map { $_->get_name() } $pool->list_volumes()) });
step('storage vol get_info', sub { my $i = $vol->get_info(); "capacity=$i->{capacity}" });
step('storage vol get_path', sub { $vol->get_path() });
step('get_storage_volume_by_path', sub { $c->get_storage_volume_by_path($vol->get_path())->get_name() });
step('storage vol delete', sub { $vol->delete(); 'deleted' });
step('storage pool refresh', sub { $pool->refresh(); scalar(my @v = $pool->list_volumes()) });
step('storage pool destroy', sub { $pool->destroy(); $pool->is_active() });
step('storage pool delete', sub { $pool->delete(); 'deleted' });
step('storage pool undefine', sub { $pool->undefine(); 'undefined' });

my $sec;
step('define_secret', sub {
    $sec = $c->define_secret("<secret ephemeral='no' private='yes'><usage type='volume'>"
                             . "<volume>/var/lib/perl-test.img</volume></usage></secret>");
    $sec->get_uuid_string() });
step('secret set_value', sub { $sec->set_value('s3cret'); 'set' });
step('secret get_value (private)', sub { $sec->get_value() });
step('list_secrets', sub { scalar(my @s = $c->list_secrets()) });
step('get_secret_by_usage', sub { $c->get_secret_by_usage(Sys::Virt::Secret::USAGE_TYPE_VOLUME, '/var/lib/perl-test.img')->get_uuid_string() });
step('secret undefine', sub { $sec->undefine(); 'undefined' });

step('list_node_devices', sub { scalar(my @d = $c->list_node_devices()) });
step('list_interfaces', sub { scalar(my @i = $c->list_interfaces()) });
