/**
 * The emulator's transcription of ECR Public's API model (local/ecr-public/model.ts)
 * against the model file itself: botocore's ecr-public/2020-10-30/service-2.json,
 * from the botocore that moto brings into the project's Python environment.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EMULATED_OPERATIONS, ERRORS, FAILURE_CODES, LIMITS, SIGNING_NAME, TARGET_PREFIX } from '../../local/ecr-public';
import { describeWithBackends, motoPython } from '../support/backends';

interface Shape {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  exception?: boolean;
  error?: { httpStatusCode?: number };
  members?: Record<string, { shape: string }>;
}
interface ServiceModel {
  metadata: { targetPrefix: string; signingName: string };
  operations: Record<string, { errors?: Array<{ shape: string }> }>;
  shapes: Record<string, Shape>;
}

describeWithBackends(['moto'], "the emulator's API model against botocore's")('local/ecr-public/model.ts', () => {
  let model: ServiceModel;
  beforeAll(() => {
    const directory = execFileSync(motoPython()!, ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], {
      encoding: 'utf8',
    }).trim();
    const file = path.join(directory, 'data', 'ecr-public', '2020-10-30', 'service-2.json.gz');
    model = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as ServiceModel;
  });

  test('target prefix, signing name and operations', () => {
    expect(model.metadata.targetPrefix).toBe(TARGET_PREFIX);
    expect(model.metadata.signingName).toBe(SIGNING_NAME);
    for (const operation of EMULATED_OPERATIONS) expect(Object.keys(model.operations)).toContain(operation);
  });

  test('every limit and pattern, shape by shape', () => {
    for (const [name, limits] of Object.entries(LIMITS)) {
      const shape = model.shapes[name];
      const fromModel = Object.fromEntries(Object.keys(limits).map((key) => [key, shape[key as keyof Shape]]));
      expect({ name, ...limits }).toEqual({ name, ...fromModel });
    }
  });

  test('the failure codes of BatchDeleteImage', () => {
    expect([...FAILURE_CODES].sort()).toEqual([...model.shapes.ImageFailureCode.enum!].sort());
  });

  /** Errors of the emulated operations that the emulator never raises: it keeps no repository tags, layers or tag immutability. */
  const NOT_EMULATED = [
    'InvalidTagParameterException',
    'TooManyTagsException',
    'LayersNotFoundException',
    'ImageTagAlreadyExistsException',
    'RegistryNotFoundException',
  ];

  test('the errors the emulated operations name: each known to the emulator, or named as not emulated', () => {
    const named = new Set(EMULATED_OPERATIONS.flatMap((operation) => (model.operations[operation].errors ?? []).map((e) => e.shape)));
    expect([...named].filter((error) => !(error in ERRORS) && !NOT_EMULATED.includes(error))).toEqual([]);
    for (const error of Object.keys(ERRORS)) expect({ error, exception: model.shapes[error]?.exception }).toEqual({ error, exception: true });
  });
});
