#!/usr/bin/perl
# A Gearman client built on Perl's Gearman::Client, spawned by the interop tests.
#
# Usage: perl client.pl HOST PORT SPEC_JSON
#
# SPEC_JSON is one of:
#   {"op": "do", "func": F, "data": "..." | "data_hex": "...", "uniq": U,
#    "exceptions": bool}
#       submits one foreground task and waits for it; prints
#       {"outcome": "complete" | "fail" | "exception" | "none",
#        "result": "...", "result_hex": "...", "exception": "...",
#        "fail_reason": "...", "events": [...]}
#       where events lists on_status / on_data / on_warning calls in order.
#       An exception value that is a Storable-frozen scalar (what
#       Gearman::Worker sends) is thawed; anything else is given verbatim.
#   {"op": "bg", "func": F, "data": "...", "uniq": U}
#       dispatch_background; prints {"handle": "host:port//H:..."}
#   {"op": "status", "handle": H}
#       get_status; prints {"known": 0|1, "running": 0|1, "numerator": "..", "denominator": ".."}
# Optional "timeout" (seconds, default 10) bounds the whole run.
# Exits 0 when the request ran. If Gearman::Client dies (e.g. on a packet it
# cannot parse) it prints {"error": "..."} and exits 4; on the timeout 3.
use strict;
use warnings;
use Gearman::Client;
use JSON::PP ();
use Storable ();
use IO::Handle;

STDOUT->autoflush(1);
my $json = JSON::PP->new->canonical->ascii;

sub out { print $json->encode($_[0]), "\n"; }

sub bail {
    my ($msg, $code) = @_;
    out({ error => $msg });
    exit($code // 2);
}

@ARGV == 3 or bail("usage: client.pl HOST PORT SPEC_JSON");
my ($host, $port, $spec_json) = @ARGV;
my $spec = eval { $json->decode($spec_json) } or bail("bad spec: $@");
my $timeout = $spec->{timeout} // 10;

$SIG{ALRM} = sub { bail("timed out", 3) };
alarm($timeout + 1);
$SIG{__WARN__} = sub { print STDERR @_ };

# Optional "tls": {"ca_file", "cert_file", "key_file"} connects with
# IO::Socket::SSL (the job server given as a hash with use_ssl).
my $server = "$host:$port";
$server = { host => $host, port => $port, use_ssl => 1, %{ $spec->{tls} } } if $spec->{tls};
my $client = Gearman::Client->new(
    job_servers => [$server],
    exceptions  => $spec->{exceptions} ? 1 : 0,
    command_timeout => $timeout,
);

sub payload {
    my $s = shift;
    return pack("H*", $s->{data_hex}) if defined $s->{data_hex};
    return $s->{data} // "";
}

sub thaw_exception {
    my $raw = shift;
    my $v = eval { Storable::thaw($raw) };
    return (ref $v eq 'SCALAR') ? $$v : $raw;
}

my $op = $spec->{op} // "";
my $ok = eval {
    if ($op eq "do") {
        my %r = (outcome => "none", events => []);
        my $ts = $client->new_task_set;
        $ts->add_task(
            $spec->{func},
            payload($spec),
            {
                (defined $spec->{uniq} ? (uniq => $spec->{uniq}) : ()),
                on_complete => sub {
                    my $ref = shift;
                    $r{outcome}    = "complete";
                    $r{result}     = $$ref;
                    $r{result_hex} = unpack("H*", $$ref);
                },
                on_fail => sub {
                    $r{outcome}     = "fail" if $r{outcome} eq "none";
                    $r{fail_reason} = $_[0];
                },
                on_exception => sub {
                    $r{outcome}   = "exception";
                    $r{exception} = thaw_exception($_[0]);
                },
                on_status  => sub { push @{ $r{events} }, { event => "status", numerator => "$_[0]", denominator => "$_[1]" } },
                on_data    => sub { push @{ $r{events} }, { event => "data", data => ${ $_[0] } } },
                on_warning => sub { push @{ $r{events} }, { event => "warning", data => ${ $_[0] } } },
            }
        );
        $ts->wait(timeout => $timeout);
        out(\%r);
    }
    elsif ($op eq "bg") {
        my $handle = $client->dispatch_background($spec->{func}, payload($spec),
            { (defined $spec->{uniq} ? (uniq => $spec->{uniq}) : ()) });
        defined $handle or bail("dispatch_background failed", 5);
        out({ handle => $handle });
    }
    elsif ($op eq "status") {
        my $st = $client->get_status($spec->{handle}) or bail("get_status failed", 5);
        out({ known => $st->known ? 1 : 0, running => $st->running ? 1 : 0,
              numerator => $st->[2], denominator => $st->[3] });
    }
    else {
        bail("unknown op $op");
    }
    1;
};
unless ($ok) {
    my $err = $@;
    $err =~ s/\s+\z//;
    bail($err, 4);
}
exit 0;
