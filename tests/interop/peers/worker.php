<?php
// A Gearman worker built on PHP's gearman extension (GearmanWorker), spawned
// by the interop tests.
//
// Usage: php worker.php HOST PORT SPEC_JSON
//   SPEC_JSON: {"functions": {"NAME": "BEHAVIOUR", ...},
//               "count": jobs to run before exiting (default 1),
//               "timeout": seconds before giving up (default 10)}
//
// Behaviours:
//   echo       return the workload unchanged
//   reverse    return the workload reversed (byte-wise)
//   upper      return the workload in upper case
//   chatty     sendData("d1:<workload>"), sendStatus(1, 2), sendWarning("w1"),
//              sendData("d2"), sendStatus(2, 2), then return "done:<workload>"
//   exception  sendException("boom:<workload>") and end the job as an exception
//   fail       sendFail() and end the job as failed
//   slow       sleep 300 ms, then return the workload
//
// Prints one JSON line per job it ran, in order:
//   {"job": n, "func": "...", "workload_hex": "...", "unique": "...", "handle": "..."}
// and a last line {"done": n} when it exits normally (exit code 0). Any error
// or the timeout prints {"error": "..."} and exits non-zero.

function out(array $v): void {
    fwrite(STDOUT, json_encode($v, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
    fflush(STDOUT);
}

function bail(string $msg, int $code = 2): void {
    out(["error" => $msg]);
    exit($code);
}

if ($argc < 4) bail("usage: worker.php HOST PORT SPEC_JSON");
[$host, $port] = [$argv[1], (int)$argv[2]];
$spec = json_decode($argv[3], true);
if (!is_array($spec) || !isset($spec["functions"]) || !is_array($spec["functions"])) bail("bad spec");
$count = (int)($spec["count"] ?? 1);
$timeout = (float)($spec["timeout"] ?? 10);
$deadline = microtime(true) + $timeout;

if (function_exists("pcntl_alarm")) {
    pcntl_async_signals(true);
    pcntl_signal(SIGALRM, function () { bail("timed out", 3); });
    pcntl_alarm((int)ceil($timeout) + 1);
}

$done = 0;

function make_handler(string $behaviour): callable {
    return function (GearmanJob $job) use ($behaviour) {
        global $done;
        $done++;
        $w = $job->workload();
        out([
            "job" => $done,
            "func" => $job->functionName(),
            "workload_hex" => bin2hex($w),
            "unique" => $job->unique(),
            "handle" => $job->handle(),
        ]);
        switch ($behaviour) {
            case "echo":
                return $w;
            case "reverse":
                return strrev($w);
            case "upper":
                return strtoupper($w);
            case "chatty":
                $job->sendData("d1:" . $w);
                $job->sendStatus(1, 2);
                $job->sendWarning("w1");
                $job->sendData("d2");
                $job->sendStatus(2, 2);
                return "done:" . $w;
            case "exception":
                $job->sendException("boom:" . $w);
                $job->setReturn(GEARMAN_WORK_EXCEPTION);
                return null;
            case "fail":
                $job->sendFail();
                $job->setReturn(GEARMAN_WORK_FAIL);
                return null;
            case "slow":
                usleep(300000);
                return $w;
            default:
                bail("unknown behaviour $behaviour");
        }
    };
}

$worker = new GearmanWorker();
if (!$worker->addServer($host, $port)) bail("addServer failed: " . $worker->error());
foreach ($spec["functions"] as $name => $behaviour) {
    if (!$worker->addFunction($name, make_handler($behaviour))) bail("addFunction $name failed: " . $worker->error());
}
// work() returns after at most this long when there is nothing to do, so the
// deadline below is checked regularly.
$worker->setTimeout(200);

while ($done < $count) {
    if (microtime(true) > $deadline) bail("timed out after $done job(s)", 3);
    $ok = @$worker->work();
    $rc = $worker->returnCode();
    // A job that ended in an exception or a failure was still handled.
    if ($ok || $rc === GEARMAN_SUCCESS || $rc === GEARMAN_WORK_EXCEPTION || $rc === GEARMAN_WORK_FAIL) continue;
    if ($rc === GEARMAN_TIMEOUT || $rc === GEARMAN_IO_WAIT || $rc === GEARMAN_NO_JOBS) continue;
    bail("work() failed: rc=$rc " . $worker->error());
}
out(["done" => $done]);
exit(0);
