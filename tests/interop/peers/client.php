<?php
// A Gearman client built on PHP's gearman extension (GearmanClient), spawned
// by the interop tests.
//
// Usage: php client.php HOST PORT SPEC_JSON
//
// SPEC_JSON is one of:
//   {"op": "do", "func": F, "data": "..." | "data_hex": "...", "unique": U,
//    "priority": "normal" | "high" | "low", "exceptions": bool}
//       runs doNormal/doHigh/doLow, looping while the worker sends data,
//       warnings or status, and prints
//       {"rc": NAME, "result": "...", "result_hex": "...", "events": [...]}
//   {"op": "bg", "func": F, "data": "...", "unique": U, "priority": ...}
//       runs doBackground/doHighBackground/doLowBackground and prints
//       {"rc": NAME, "handle": "..."}
//   {"op": "status", "handle": H}
//       runs jobStatus and prints {"known": b, "running": b, "numerator": n, "denominator": d}
//   {"op": "tasks", "tasks": [{"func", "data", "unique", "priority", "background"}, ...],
//    "exceptions": bool}
//       adds every task with addTask* (context = its index), runs runTasks
//       and prints {"rc": NAME, "events": [{"event": ..., "task": i, ...}, ...]}
// Optional "timeout" (seconds, default 10) bounds every blocking call.
// Exits 0 when the request ran (whatever the job's outcome), non-zero with
// {"error": "..."} on usage errors or a timeout.

function out(array $v): void {
    fwrite(STDOUT, json_encode($v, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
    fflush(STDOUT);
}

function bail(string $msg, int $code = 2): void {
    out(["error" => $msg]);
    exit($code);
}

function rc_name(int $rc): string {
    static $names = null;
    if ($names === null) {
        $names = [];
        foreach (get_defined_constants(true)["gearman"] as $k => $v) {
            if (str_starts_with($k, "GEARMAN_") && !str_starts_with($k, "GEARMAN_COMMAND_")
                && !str_contains($k, "_STATE_") && !str_starts_with($k, "GEARMAN_CLIENT_")
                && !str_starts_with($k, "GEARMAN_WORKER_") && !str_starts_with($k, "GEARMAN_JOB_PRIORITY")
                && !str_starts_with($k, "GEARMAN_CON_") && !isset($names[$v])) {
                $names[$v] = substr($k, 8);
            }
        }
    }
    return $names[$rc] ?? (string)$rc;
}

if ($argc < 4) bail("usage: client.php HOST PORT SPEC_JSON");
[$host, $port] = [$argv[1], (int)$argv[2]];
$spec = json_decode($argv[3], true);
if (!is_array($spec) || !isset($spec["op"])) bail("bad spec");
$timeout = (float)($spec["timeout"] ?? 10);

if (function_exists("pcntl_alarm")) {
    pcntl_async_signals(true);
    pcntl_signal(SIGALRM, function () { bail("timed out", 3); });
    pcntl_alarm((int)ceil($timeout) + 1);
}

function payload(array $s): string {
    if (isset($s["data_hex"])) return hex2bin($s["data_hex"]);
    return (string)($s["data"] ?? "");
}

$client = new GearmanClient();
if (!$client->addServer($host, $port)) bail("addServer failed: " . $client->error());
$client->setTimeout((int)($timeout * 1000));
if (!empty($spec["exceptions"])) {
    // GEARMAN_CLIENT_EXCEPTION (1 << 7): libgearman sends OPTION_REQ "exceptions".
    $client->addOptions(1 << 7);
}

switch ($spec["op"]) {
    case "do": {
        $method = ["normal" => "doNormal", "high" => "doHigh", "low" => "doLow"][$spec["priority"] ?? "normal"] ?? null;
        if ($method === null) bail("bad priority");
        $events = [];
        $deadline = microtime(true) + $timeout;
        for (;;) {
            $res = @$client->$method($spec["func"], payload($spec), (string)($spec["unique"] ?? ""));
            $rc = $client->returnCode();
            if ($rc === GEARMAN_WORK_DATA) {
                $events[] = ["event" => "data", "data" => $res];
            } elseif ($rc === GEARMAN_WORK_WARNING) {
                $events[] = ["event" => "warning", "data" => $res];
            } elseif ($rc === GEARMAN_WORK_STATUS) {
                [$n, $d] = $client->doStatus();
                $events[] = ["event" => "status", "numerator" => $n, "denominator" => $d];
            } else {
                break;
            }
            if (microtime(true) > $deadline) bail("timed out", 3);
        }
        out([
            "rc" => rc_name($rc),
            "result" => $res,
            "result_hex" => is_string($res) ? bin2hex($res) : null,
            "events" => $events,
            "error" => $rc === GEARMAN_SUCCESS ? null : $client->error(),
        ]);
        break;
    }
    case "bg": {
        $method = ["normal" => "doBackground", "high" => "doHighBackground", "low" => "doLowBackground"][$spec["priority"] ?? "normal"] ?? null;
        if ($method === null) bail("bad priority");
        $handle = @$client->$method($spec["func"], payload($spec), (string)($spec["unique"] ?? ""));
        out(["rc" => rc_name($client->returnCode()), "handle" => $handle]);
        break;
    }
    case "status": {
        $st = @$client->jobStatus($spec["handle"]);
        if (!is_array($st)) bail("jobStatus failed: " . $client->error());
        out(["known" => (bool)$st[0], "running" => (bool)$st[1], "numerator" => $st[2], "denominator" => $st[3]]);
        break;
    }
    case "tasks": {
        $events = [];
        $record = function (string $kind) use (&$events) {
            return function (GearmanTask $task, $context = null) use (&$events, $kind) {
                $e = ["event" => $kind, "task" => (int)$context];
                switch ($kind) {
                    case "created":
                        $e["handle"] = $task->jobHandle();
                        break;
                    case "status":
                        $e["numerator"] = $task->taskNumerator();
                        $e["denominator"] = $task->taskDenominator();
                        break;
                    case "fail":
                        break;
                    default:
                        $e["data"] = $task->data();
                }
                $events[] = $e;
            };
        };
        $client->setCreatedCallback($record("created"));
        $client->setDataCallback($record("data"));
        $client->setWarningCallback($record("warning"));
        $client->setStatusCallback($record("status"));
        $client->setCompleteCallback($record("complete"));
        $client->setExceptionCallback($record("exception"));
        $client->setFailCallback($record("fail"));
        foreach ($spec["tasks"] as $i => $t) {
            $bg = !empty($t["background"]);
            $method = [
                "normal" => $bg ? "addTaskBackground" : "addTask",
                "high" => $bg ? "addTaskHighBackground" : "addTaskHigh",
                "low" => $bg ? "addTaskLowBackground" : "addTaskLow",
            ][$t["priority"] ?? "normal"] ?? null;
            if ($method === null) bail("bad priority");
            $unique = isset($t["unique"]) ? (string)$t["unique"] : null;
            $task = $unique === null
                ? $client->$method($t["func"], payload($t), (string)$i)
                : $client->$method($t["func"], payload($t), (string)$i, $unique);
            if ($task === false) bail("$method failed: " . $client->error());
        }
        $ok = @$client->runTasks();
        out(["rc" => rc_name($client->returnCode()), "ok" => (bool)$ok, "events" => $events]);
        break;
    }
    default:
        bail("unknown op " . $spec["op"]);
}
exit(0);
