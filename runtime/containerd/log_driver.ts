/**
 * Container output capture through containerd's `binary://` logging.
 *
 * Why not `file://`: containerd 1.6's runc shim writes stdout AND stderr to the one file, without
 * timestamps, and only an outside copytruncate could cap its size (losing lines in the race).
 * With `binary://PATH?k=v` the shim starts PATH once per task with the container's stdout pipe on
 * fd 3, stderr on fd 4 and a ready pipe on fd 5. Our driver, a small Perl program (perl is on
 * every Debian system), tags each line with a timestamp and its stream, writes the CRI log format
 *
 * ```
 * 2024-05-01T10:00:00.123456789Z stdout F hello world
 * 2024-05-01T10:00:00.123501234Z stderr P first 16 KiB of a very long line...
 * ```
 *
 * (`F` full line, `P` partial: a line longer than 16 KiB continues in the next record), and
 * rotates by size itself: `log` → `log.1` → ... keeping `files` files, so no line is lost to a
 * rotation race. The driver is a child of the shim, not of Warren: output keeps being captured
 * while the worker restarts. The shim closes the pipes and SIGTERMs the driver when the task is
 * deleted; the driver drains what is left and exits.
 */

/** The driver program. Arguments are key/value pairs (the shim passes the URI query unordered). */
export const LOG_DRIVER_SOURCE = String.raw`#!/usr/bin/perl
# Warren log driver for containerd binary:// logging (see runtime/containerd/log_driver.ts).
# No "use strict; use warnings": loading them doubled the driver's start-up (8 -> 4 ms of CPU),
# paid by every container start. log_driver_test.ts compiles this file under both instead.

my %arg = @ARGV;
my $path = $arg{path} or die "warren-log-driver: no path argument\n";
my $max = $arg{max} || 10485760;
my $keep = $arg{files} || 2;
my $chunk = 16384;

# SIGTERM (task deleted): keep draining, but stop once the pipes stay quiet for a second.
my $term = 0;
$SIG{TERM} = sub { $term = 1 };
$SIG{PIPE} = 'IGNORE';

open(my $out, '<&=', 3) or die "warren-log-driver: fd 3: $!\n";
open(my $err, '<&=', 4) or die "warren-log-driver: fd 4: $!\n";
my ($log, $size);
sub reopen {
  open($log, '>>', $path) or die "warren-log-driver: open $path: $!\n";
  binmode($log);
  $size = -s $log || 0;
}
reopen();
if (open(my $ready, '>&=', 5)) { close($ready); }

sub rotate {
  close($log);
  if ($keep <= 1) { truncate($path, 0); }
  else {
    for (my $i = $keep - 1; $i >= 1; $i--) {
      my $src = $i == 1 ? $path : "$path." . ($i - 1);
      rename($src, "$path.$i") if -e $src;
    }
  }
  reopen();
}

# Time::HiRes is loaded with the first line, not at start: the shim starts the container only
# once this driver is ready, and POSIX plus Time::HiRes used to make up most of its start-up.
my $now;
sub stamp {
  $now //= do { require Time::HiRes; \&Time::HiRes::time };
  my $t = $now->();
  my $s = int($t);
  my @g = gmtime($s);
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09dZ",
    $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0], int(($t - $s) * 1e9));
}

sub emit {
  my ($stream, $tag, $line) = @_;
  my $rec = stamp() . " $stream $tag $line\n";
  my $off = 0;
  while ($off < length($rec)) {
    my $n = syswrite($log, $rec, length($rec) - $off, $off);
    last unless defined $n;
    $off += $n;
  }
  $size += length($rec);
  rotate() if $size >= $max;
}

my %buf = (stdout => '', stderr => '');
my %fh = (stdout => $out, stderr => $err);
my %open = (stdout => 1, stderr => 1);

sub flush_lines {
  my ($s, $eof) = @_;
  while ((my $i = index($buf{$s}, "\n")) >= 0) {
    my $line = substr($buf{$s}, 0, $i);
    substr($buf{$s}, 0, $i + 1) = '';
    while (length($line) > $chunk) { emit($s, 'P', substr($line, 0, $chunk, '')); }
    emit($s, 'F', $line);
  }
  while (length($buf{$s}) > $chunk) { emit($s, 'P', substr($buf{$s}, 0, $chunk, '')); }
  if ($eof && length($buf{$s}) > 0) { emit($s, 'F', $buf{$s}); $buf{$s} = ''; }
}

while ($open{stdout} || $open{stderr}) {
  my $rin = '';
  for my $s (keys %open) { vec($rin, fileno($fh{$s}), 1) = 1 if $open{$s}; }
  my $n = select(my $rout = $rin, undef, undef, $term ? 1 : undef);
  next if $n < 0;  # interrupted by a signal: poll again
  last if $n == 0;  # quiet after SIGTERM
  for my $s (qw(stdout stderr)) {
    next unless $open{$s} && vec($rout, fileno($fh{$s}), 1);
    my $r = sysread($fh{$s}, my $data, 65536);
    if (!$r) { $open{$s} = 0; flush_lines($s, 1); next; }
    $buf{$s} .= $data;
    flush_lines($s, 0);
  }
}
flush_lines($_, 1) for qw(stdout stderr);
close($log);
`;

/** Options of {@link logDriverUri}. */
export interface LogTarget {
  /** Log file written by the driver. */
  path: string;
  maxFileBytes: number;
  maxFiles: number;
}

/**
 * The stdout/stderr URI for Tasks/Create that makes the shim run the driver at `driverPath`.
 */
export function logDriverUri(driverPath: string, target: LogTarget): string {
  const q = new URLSearchParams({
    path: target.path,
    max: String(target.maxFileBytes),
    files: String(target.maxFiles),
  });
  return `binary://${driverPath}?${q}`;
}

/** Writes the driver program to `dir/warren-log-driver` (mode 0755) and returns its path. */
export async function installLogDriver(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/warren-log-driver`;
  const current = await Deno.readTextFile(path).catch(() => undefined);
  if (current !== LOG_DRIVER_SOURCE) {
    // Write aside and rename, so a shim starting the driver never sees a half-written file.
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, LOG_DRIVER_SOURCE, { mode: 0o755 });
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, path);
  }
  return path;
}
