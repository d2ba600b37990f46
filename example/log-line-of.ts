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
  /** Under a lifecycle policy, each with the priority of the rule that expires its image. */
  readonly deletedImageIds: Array<WireImageId & { readonly rule?: number }>;
  readonly keptImages?: Array<{
    imageDigest: string;
    imageTags: string[];
    reason: string;
    referencedBy?: string;
    subject?: string;
    /** Under a lifecycle policy, with reason protected or newest: the rule that kept it. */
    rule?: number;
    /** With reason protected or newest: the image (index) this manifest is part of. */
    partOf?: string;
  }>;
  /** The selection's counts; `rules` per rule, by priority. */
  readonly selection?: { readonly rules?: Array<{ priority: number; description?: string; expired: number }> };
}

/** The handler's log line in an invocation's output, if it wrote one. */
export function logLineOf(stdout: string): { readonly text: string; readonly line: LogLine } | undefined {
  const text = stdout.split('\n').find((l) => l.includes('"message":"EcrPublicImageDeletion event"'));
  return text ? { text, line: JSON.parse(text) as LogLine } : undefined;
}
