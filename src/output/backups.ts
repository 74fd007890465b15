// Renders the `backups` listing for humans (table) and machines (json, yaml). Never shows file
// contents: only names, subjects, fingerprints and dates.
import { describeLocation, type BackupInfo, type BackupListing } from '../flows/backups.js';
import { rfc3339 } from '../pki/inspect.js';
import { colorStatus, escapeControl as esc, renderTable } from './table.js';
import { formatDays, formatExpiry } from './time.js';

export type BackupsFormat = 'table' | 'json' | 'yaml';

/** '3h ago', '12d ago' (or 'in 5m' for a clock ahead of ours). */
export function age(createdAt: Date, now: Date): string {
  const ms = now.getTime() - createdAt.getTime();
  if (ms < 0) return `in ${formatDays(-ms)}`;
  return ms < 60_000 ? 'just now' : `${formatDays(ms)} ago`;
}

/** A letter per (stamp, content): copies with the same letter hold the same PKI. */
function copyLabels(backups: BackupInfo[]): Map<BackupInfo, string> {
  const byKey = new Map<string, string>();
  const labels = new Map<BackupInfo, string>();
  for (const b of backups) {
    const key = `${b.stamp}/${b.digest}`;
    if (!byKey.has(key)) byKey.set(key, letters(byKey.size));
    labels.set(b, byKey.get(key)!);
  }
  return labels;
}

function letters(n: number): string {
  let s = '';
  for (let i = n + 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

/** Stamps whose copies do not all hold the same PKI. */
function disagreeing(backups: BackupInfo[]): string[] {
  const digests = new Map<string, Set<string>>();
  for (const b of backups) digests.set(b.stamp, (digests.get(b.stamp) ?? new Set()).add(b.digest));
  return [...digests].filter(([, d]) => d.size > 1).map(([stamp]) => stamp);
}

export function backupsDocument(listing: BackupListing, now: Date) {
  const ns = listing.vcluster.namespace;
  const labels = copyLabels(listing.backups);
  const target = listing.rollover?.abortTarget;
  return {
    apiVersion: 'vcluster-certs/v1',
    kind: 'BackupList',
    vcluster: listing.vcluster,
    podsSearched: listing.podsSearched,
    warnings: listing.warnings,
    rollover: listing.rollover
      ? {
        since: rfc3339(listing.rollover.since),
        until: rfc3339(listing.rollover.until),
        oldCA: listing.rollover.oldCA,
        abortTarget: target ? { stamp: target.stamp, where: describeLocation(target.location, ns), copy: labels.get(target) } : null,
      }
      : null,
    backups: listing.backups.map((b) => ({
      stamp: b.stamp,
      createdAt: rfc3339(b.createdAt),
      age: age(b.createdAt, now),
      location: b.location,
      where: describeLocation(b.location, ns),
      reason: b.reason,
      copy: labels.get(b),
      sameAs: b.sameAs,
      digest: b.digest,
      complete: b.complete,
      problems: b.problems,
      cas: b.cas.map((c) => ({ file: c.file, subject: c.subject, sha256: c.sha256, notAfter: rfc3339(c.notAfter) })),
      earliestLeafExpiry: b.earliestLeafExpiry ? rfc3339(b.earliestLeafExpiry) : null,
      earliestLeaf: b.earliestLeaf ?? null,
      abortTarget: b === target,
    })),
  };
}

function searched(listing: BackupListing): string {
  const pods = listing.podsSearched;
  return `the backup Secrets${pods.length ? ` and /data/pki.bak in pod${pods.length > 1 ? 's' : ''} ${pods.join(', ')}` : ''}`;
}

export function renderBackupsText(listing: BackupListing, now: Date, color: boolean): string {
  const { name, namespace } = listing.vcluster;
  const out: string[] = [''];
  const backups = listing.backups;
  if (backups.length === 0) {
    out.push(esc(`No backups found for vCluster ${namespace}/${name} (searched ${searched(listing)}).`));
    out.push('rotate, rotate-ca and restore create one (a Secret <name>-certs-backup-<unix ts>, and /data/pki.bak/<unix ts> in each replica) before every change.');
  } else {
    const labels = copyLabels(backups);
    const distinct = new Set(labels.values()).size;
    out.push(esc(`vCluster ${namespace}/${name}: ${backups.length} backup${backups.length === 1 ? '' : 's'} (${distinct} distinct), searched ${searched(listing)}`), '');
    const rows = backups.map((b) => [
      labels.get(b)!,
      `${rfc3339(b.createdAt)} (${age(b.createdAt, now)})`,
      esc(describeLocation(b.location, namespace)),
      esc(b.reason) + (b === listing.rollover?.abortTarget ? ' [abort target]' : ''),
      b.complete ? 'yes' : colorStatus('NO', color),
      b.earliestLeafExpiry ? formatExpiry(b.earliestLeafExpiry.toISOString()) : '-',
    ]);
    out.push(renderTable(['COPY', 'CREATED', 'LOCATION', 'REASON', 'COMPLETE', 'FIRST LEAF EXPIRES'], rows, { color }).trimEnd());
    out.push('', '  Rows with the same COPY letter hold the same PKI. Their CAs:', '');
    // Leaf rotations keep the CAs, so many copies share one CA set: print each set once.
    const sets = new Map<string, { copies: string[]; backup: BackupInfo }>();
    for (const b of backups) {
      const key = b.cas.map((c) => `${c.file}=${c.sha256}`).join(',');
      const set = sets.get(key) ?? { copies: [], backup: b };
      if (!set.copies.includes(labels.get(b)!)) set.copies.push(labels.get(b)!);
      sets.set(key, set);
    }
    const caRows: string[][] = [];
    for (const { copies, backup } of sets.values()) {
      const who = copies.join(', ');
      for (const c of backup.cas) caRows.push([who, esc(c.file), esc(c.subject), c.sha256]);
      if (!backup.cas.length) caRows.push([who, '-', 'no readable CA certificate', '-']);
    }
    out.push(renderTable(['COPIES', 'CA', 'SUBJECT', 'SHA-256 FINGERPRINT'], caRows, { color }).trimEnd());
    const problems = backups.flatMap((b) => b.problems.map((p) => `  ! ${esc(`${describeLocation(b.location, namespace)}: ${p}`)}`));
    if (problems.length) out.push('', ...problems);
    for (const stamp of disagreeing(backups)) {
      out.push(`  ! the copies of backup ${stamp} differ: compare their COPY letters before restoring one`);
    }
  }
  const r = listing.rollover;
  if (r) {
    out.push('', `  A CA rollover is in progress since ${rfc3339(r.since)} (finalize before ${rfc3339(r.until)}).`);
    if (r.abortTarget) {
      out.push(esc(`  Abort target: backup ${r.abortTarget.stamp}, ${describeLocation(r.abortTarget.location, namespace)} (old CA ${r.oldCA}); "rotate-ca --abort" restores it.`));
    }
  }
  for (const w of listing.warnings) out.push(`  warning: ${esc(w)}`);
  out.push('');
  return out.join('\n') + '\n';
}

export async function renderBackups(listing: BackupListing, format: BackupsFormat, color: boolean, now = new Date()): Promise<string> {
  switch (format) {
    case 'json':
      return JSON.stringify(backupsDocument(listing, now), null, 2) + '\n';
    case 'yaml': {
      const { stringify } = await import('yaml');
      return stringify(backupsDocument(listing, now));
    }
    default:
      return renderBackupsText(listing, now, color);
  }
}
