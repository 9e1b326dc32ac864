#!/usr/bin/perl
# A Gearman worker built on Perl's Gearman::Worker, spawned by the interop tests.
#
# Usage: perl worker.pl HOST PORT SPEC_JSON
#   SPEC_JSON: {"functions": {"NAME": "BEHAVIOUR", ...},
#               "count": jobs to run before exiting (default 1),
#               "timeout": seconds before giving up (default 10)}
#
# Behaviours:
#   echo      return the argument unchanged
#   reverse   return the argument reversed (byte-wise)
#   upper     return the argument in upper case
#   status    set_status(1, 3), set_status(2, 3), then return "status:<arg>"
#   chatty    send_work_data("d1:<arg>"), send_work_warning("w1"),
#             set_status(1, 2), then return "done:<arg>"
#   hold      set_status(3, 10), sleep 2 s, then return "held:<arg>"
#   die       die "boom:<arg>\n" (Gearman::Worker sends WORK_EXCEPTION, then WORK_FAIL)
#   undef     return undef (Gearman::Worker sends WORK_FAIL)
#   zero      return "0" (Gearman::Worker sends WORK_COMPLETE without the NUL
#             before the result)
#   empty     return "" (likewise)
#
# Prints one JSON line per job it starts:
#   {"job": n, "func": "...", "arg_hex": "...", "handle": "..."}
# and {"done": n} when it has run `count` jobs (exit code 0). If
# Gearman::Worker dies (e.g. on an unexpected ERROR packet) it prints
# {"error": "..."} and exits 4; on the timeout it prints {"error": "timed out"}
# and exits 3.
use strict;
use warnings;
use Gearman::Worker;
use JSON::PP ();
use IO::Handle;
use Time::HiRes ();

STDOUT->autoflush(1);
my $json = JSON::PP->new->canonical->ascii;

sub out { print $json->encode($_[0]), "\n"; }

sub bail {
    my ($msg, $code) = @_;
    out({ error => $msg });
    exit($code // 2);
}

@ARGV == 3 or bail("usage: worker.pl HOST PORT SPEC_JSON");
my ($host, $port, $spec_json) = @ARGV;
my $spec = eval { $json->decode($spec_json) } or bail("bad spec: $@");
my $count   = $spec->{count}   // 1;
my $timeout = $spec->{timeout} // 10;

$SIG{ALRM} = sub { bail("timed out", 3) };
alarm($timeout);

# Keep Gearman::Worker's "Job 'f' died" warnings on stderr but quiet.
$SIG{__WARN__} = sub { print STDERR @_ };

# Optional "tls": {"ca_file", "cert_file", "key_file"} connects with
# IO::Socket::SSL (the job server given as a hash with use_ssl).
my $server = "$host:$port";
$server = { host => $host, port => $port, use_ssl => 1, %{ $spec->{tls} } } if $spec->{tls};
my $worker = Gearman::Worker->new(job_servers => [$server]);
my $done   = 0;

my %behaviours = (
    echo    => sub { $_[0]->arg },
    reverse => sub { scalar reverse $_[0]->arg },
    upper   => sub { uc $_[0]->arg },
    status  => sub {
        my $job = shift;
        $job->set_status(1, 3);
        $job->set_status(2, 3);
        return "status:" . $job->arg;
    },
    chatty => sub {
        my $job = shift;
        $worker->send_work_data($job, "d1:" . $job->arg);
        $worker->send_work_warning($job, "w1");
        $job->set_status(1, 2);
        return "done:" . $job->arg;
    },
    hold => sub {
        my $job = shift;
        $job->set_status(3, 10);
        Time::HiRes::sleep(2);
        return "held:" . $job->arg;
    },
    die   => sub { die "boom:" . $_[0]->arg . "\n" },
    undef => sub { return undef },
    zero  => sub { return "0" },
    empty => sub { return "" },
);

for my $name (sort keys %{ $spec->{functions} }) {
    my $b    = $spec->{functions}{$name};
    my $code = $behaviours{$b} or bail("unknown behaviour $b");
    $worker->register_function(
        $name => sub {
            my $job = shift;
            $done++;
            out({ job => $done, func => $name, arg_hex => unpack("H*", $job->arg), handle => $job->handle });
            return $code->($job);
        }
    ) or bail("cannot register $name at $host:$port");
}

eval {
    $worker->work(stop_if => sub { $done >= $count });
    1;
} or do {
    my $err = $@;
    $err =~ s/\s+\z//;
    bail($err, 4);
};
out({ done => $done });
exit 0;
