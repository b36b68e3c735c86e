<?php
// fngraph PHP runtime shim. Runs INSIDE the sandbox: imports nothing from the host code.
// Speaks the instance protocol (src/runtimes/PROTOCOL.md) on fd 3: 4-byte big-endian length +
// UTF-8 JSON per frame. stdout/stderr belong to the function. Handler: `file.function` →
// `<code root>/file.php` defining `function($event, $context)`. One call at a time (PHP has no
// threads); further invocations wait in the channel.

declare(strict_types=0);

$FNG_CHANNEL = fopen('php://fd/3', 'r+b');
if ($FNG_CHANNEL === false) {
    fwrite(STDERR, "fngraph runtime: fd 3 is not open\n");
    exit(1);
}

function fng_send(array $msg): void
{
    global $FNG_CHANNEL;
    $body = json_encode($msg, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
    fwrite($FNG_CHANNEL, pack('N', strlen($body)) . $body);
    fflush($FNG_CHANNEL);
}

function fng_read(int $n): ?string
{
    global $FNG_CHANNEL;
    $buf = '';
    while (strlen($buf) < $n) {
        $chunk = fread($FNG_CHANNEL, $n - strlen($buf));
        if ($chunk === false || $chunk === '') {
            if (feof($FNG_CHANNEL)) return null;
            continue;
        }
        $buf .= $chunk;
    }
    return $buf;
}

final class FngLogger
{
    private const LEVELS = ['DEBUG' => 0, 'INFO' => 1, 'WARN' => 2, 'ERROR' => 3];
    private int $level = 1;
    public function __construct(private string $requestId) {}
    public function setLevel(string $level): void
    {
        $l = strtoupper($level);
        if (isset(self::LEVELS[$l])) $this->level = self::LEVELS[$l];
    }
    private function write(string $level, array $args): void
    {
        if (self::LEVELS[$level] < $this->level) return;
        $parts = array_map(fn($a) => is_string($a) ? $a : json_encode($a, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), $args);
        $now = DateTime::createFromFormat('U.u', sprintf('%.6F', microtime(true)));
        fwrite(STDOUT, $now->format('Y-m-d\TH:i:s.v\Z') . " {$this->requestId} $level " . implode(' ', $parts) . "\n");
    }
    public function debug(...$a): void { $this->write('DEBUG', $a); }
    public function info(...$a): void { $this->write('INFO', $a); }
    public function warn(...$a): void { $this->write('WARN', $a); }
    public function error(...$a): void { $this->write('ERROR', $a); }
}

/** The context of contract §3.2, PHP spelling of the Node.js method names. */
final class FngContext
{
    private FngLogger $logger;
    public function __construct(private array $c)
    {
        $this->logger = new FngLogger((string)($c['requestId'] ?? ''));
    }
    private function h(string $k): string { return (string)($this->c['headers'][$k] ?? ''); }
    public function getRequestID(): string { return (string)$this->c['requestId']; }
    public function getRemainingTimeInMilliSeconds(): int
    {
        return max(0, (int)($this->c['deadline'] - microtime(true) * 1000));
    }
    public function getRunningTimeInSeconds(): int { return (int)$this->c['timeoutSeconds']; }
    public function getAccessKey(): string { return (string)$this->c['accessKey']; }
    public function getSecretKey(): string { return (string)$this->c['secretKey']; }
    public function getSecurityAccessKey(): string { return $this->h('x-cff-security-access-key') ?: (string)$this->c['accessKey']; }
    public function getSecuritySecretKey(): string { return $this->h('x-cff-security-secret-key') ?: (string)$this->c['secretKey']; }
    public function getSecurityToken(): string { return (string)$this->c['securityToken']; }
    public function getToken(): string { return (string)$this->c['authToken']; }
    public function getUserData(string $key): ?string
    {
        $v = $this->c['userData'][$key] ?? null;
        return $v === null ? null : (string)$v;
    }
    public function getFunctionName(): string { return (string)$this->c['functionName']; }
    public function getVersion(): string { return (string)$this->c['version']; }
    public function getMemorySize(): int { return (int)$this->c['memorySize']; }
    public function getCPUNumber(): int { return (int)$this->c['cpuMillicores']; }
    public function getProjectID(): string { return (string)$this->c['projectId']; }
    public function getPackage(): string { return (string)$this->c['package']; }
    public function getAlias(): string { return (string)$this->c['alias']; }
    public function getInvokeType(): string { return (string)$this->c['invokeType']; }
    public function getLogger(): FngLogger { return $this->logger; }
    public function getWorkflowID(): string { return $this->h('x-cff-workflow-id'); }
    public function getWorkflowRunID(): string { return $this->h('x-cff-workflow-run-id'); }
    public function getWorkflowStateID(): string { return $this->h('x-cff-workflow-state-id'); }
}

function fng_trace(Throwable $e): array
{
    return array_values(array_filter(array_map('trim', explode("\n", $e->getTraceAsString()))));
}

function fng_max_rss_kb(): int
{
    $u = getrusage();
    return (int)($u['ru_maxrss'] ?? 0);
}

$fngHandler = null;

function fng_load(array $msg): void
{
    global $fngHandler;
    foreach ($msg['env'] as $k => $v) {
        putenv("$k=$v");
        $_ENV[$k] = $v;
        $_SERVER[$k] = $v;
    }
    $root = getenv('RUNTIME_CODE_ROOT') ?: '/opt/function/code';
    @chdir($root);
    $handler = (string)$msg['handler'];
    $dot = strrpos($handler, '.');
    $fail = function (string $m, string $type = 'Error'): void {
        fng_send(['type' => 'load_error', 'errorCode' => 4001,
            'error' => ['errorMessage' => "function entry exception, error: $m", 'errorType' => $type]]);
    };
    if ($dot === false || $dot === 0) {
        $fail("handler must look like file.function: $handler");
        return;
    }
    $file = $root . '/' . substr($handler, 0, $dot) . '.php';
    $func = substr($handler, $dot + 1);
    if (!is_file($file)) {
        $fail("cannot find $file", 'FileNotFound');
        return;
    }
    try {
        require_once $file;
    } catch (Throwable $e) {
        $fail($e->getMessage(), get_class($e));
        return;
    }
    if (!function_exists($func)) {
        $fail("function $func is not defined in $file", 'FunctionNotFound');
        return;
    }
    $fngHandler = $func;
    if (($msg['initializer'] ?? '') !== '') {
        $init = (string)$msg['initializer'];
        $idot = strrpos($init, '.');
        $ifile = $root . '/' . substr($init, 0, (int)$idot) . '.php';
        $ifunc = substr($init, (int)$idot + 1);
        try {
            if ($idot === false || !is_file($ifile)) throw new Error("cannot find initializer $init");
            require_once $ifile;
            if (!function_exists($ifunc)) throw new Error("function $ifunc is not defined in $ifile");
            $ifunc(new FngContext(['requestId' => '', 'headers' => [], 'userData' => json_decode(getenv('RUNTIME_USERDATA') ?: '{}', true) ?: [],
                'deadline' => microtime(true) * 1000 + (int)$msg['initializerTimeoutMs'], 'timeoutSeconds' => (int)getenv('RUNTIME_TIMEOUT'),
                'accessKey' => '', 'secretKey' => '', 'securityToken' => '', 'authToken' => '', 'functionName' => getenv('RUNTIME_FUNC_NAME'),
                'version' => getenv('RUNTIME_FUNC_VERSION'), 'memorySize' => (int)getenv('RUNTIME_MEMORY'), 'cpuMillicores' => (int)getenv('RUNTIME_CPU'),
                'projectId' => getenv('RUNTIME_PROJECT_ID'), 'package' => getenv('RUNTIME_PACKAGE'), 'alias' => '', 'invokeType' => 'sync']));
        } catch (Throwable $e) {
            fflush(STDOUT);
            fng_send(['type' => 'load_error', 'errorCode' => 4009,
                'error' => ['errorMessage' => 'function initialization exception: ' . $e->getMessage(), 'errorType' => get_class($e)]]);
            return;
        }
    }
    fflush(STDOUT);
    fng_send(['type' => 'loaded']);
}

function fng_invoke(array $msg): void
{
    global $fngHandler;
    @file_put_contents('/proc/self/clear_refs', '5');
    $t0 = hrtime(true);
    $raw = (string)$msg['event'];
    $event = json_decode($raw, true);
    if ($event === null && trim($raw) !== 'null') $event = $raw;
    $reply = ['type' => 'result', 'id' => $msg['id']];
    try {
        $out = ($fngHandler)($event, new FngContext($msg['context']));
        if ($out === null) $result = '';
        elseif (is_string($out)) $result = $out;
        else {
            $result = json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
            if ($result === false) throw new JsonException(json_last_error_msg());
        }
        $reply += ['ok' => true, 'result' => $result];
    } catch (JsonException $e) {
        $reply += ['ok' => false, 'errorCode' => 4007, 'error' => [
            'errorMessage' => 'function result is invalid, error: ' . $e->getMessage(), 'errorType' => 'JsonException']];
    } catch (Throwable $e) {
        $reply += ['ok' => false, 'errorCode' => 4002, 'error' => [
            'errorMessage' => 'function invocation exception, error: ' . $e->getMessage(),
            'errorType' => get_class($e), 'stackTrace' => fng_trace($e)]];
    }
    fflush(STDOUT);
    $reply['durationMs'] = (hrtime(true) - $t0) / 1e6;
    $reply['maxRssKb'] = fng_max_rss_kb();
    fng_send($reply);
}

fng_send(['type' => 'ready']);
for (;;) {
    $head = fng_read(4);
    if ($head === null) exit(0);
    $len = unpack('N', $head)[1];
    $text = fng_read($len);
    if ($text === null) exit(0);
    $msg = json_decode($text, true);
    if (!is_array($msg)) continue;
    if ($msg['type'] === 'load') fng_load($msg);
    elseif ($msg['type'] === 'invoke') fng_invoke($msg);
}
