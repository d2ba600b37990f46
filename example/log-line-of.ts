/**
 * The handler's one JSON log line of an event, as the demo reads it from the
 * handler's output: the demo labels images from it (what the handler kept,
 * and why), never from a guess of its own.
 */
import type { WireImageId } from '../lib/contract';

/** The fields of the log line (lambda/log-line.ts) the demo reads. */
export interface LogLine {
  readonly requestType: string;
  readonly status: string;
  /** 'delete' when the deletion ran; 'skip' when the event was not in its deleteOn (or nothing was to be done). */
  readonly action: string;
  readonly dryRun: boolean;
  readonly deletedImageIds: WireImageId[];
  readonly keptImages?: Array<{ imageDigest: string; imageTags: string[]; reason: string; referencedBy?: string; subject?: string }>;
}

/** The handler's log line in an invocation's output, if it wrote one. */
export function logLineOf(stdout: string): { readonly text: string; readonly line: LogLine } | undefined {
  const text = stdout.split('\n').find((l) => l.includes('"message":"EcrPublicImageDeletion event"'));
  return text ? { text, line: JSON.parse(text) as LogLine } : undefined;
}
