import { describe, expect, it } from 'vitest';
import { errorToFailure, failureToError } from './failure-converter.js';
import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from './failures.js';
import { defaultPayloadConverter as converter } from './payload.js';

describe('failure conversion', () => {
  it('round-trips an ApplicationFailure with type, details and cause', () => {
    const original = ApplicationFailure.create({
      message: 'boom',
      type: 'Kaput',
      nonRetryable: true,
      details: [{ a: 1 }],
      cause: new Error('root cause'),
    });
    const back = failureToError(errorToFailure(original, converter), converter);
    expect(back).toBeInstanceOf(ApplicationFailure);
    expect(back).toMatchObject({ message: 'boom', type: 'Kaput', nonRetryable: true, details: [{ a: 1 }] });
    expect(back.cause).toBeInstanceOf(ApplicationFailure);
    expect(back.cause).toMatchObject({ message: 'root cause', type: 'Error' });
  });

  it('turns a plain error into an ApplicationFailure typed by its name', () => {
    const failure = errorToFailure(new TypeError('bad'), converter);
    expect(failure.applicationFailureInfo).toMatchObject({ type: 'TypeError', nonRetryable: false });
  });

  it('decodes the server-built failure kinds', () => {
    const activity = failureToError(
      {
        message: 'Activity task timed out',
        activityFailureInfo: { activityType: { name: 'greet' }, activityId: '1', retryState: 3 },
        cause: { message: 'activity StartToClose timeout', timeoutFailureInfo: { timeoutType: 1 } },
      },
      converter,
    );
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect(activity).toMatchObject({ activityType: 'greet', activityId: '1', retryState: 'TIMEOUT' });
    expect(activity.cause).toBeInstanceOf(TimeoutFailure);
    expect(activity.cause).toMatchObject({ timeoutType: 'START_TO_CLOSE' });
    const cancelled = failureToError({ message: 'x', canceledFailureInfo: {} }, converter);
    expect(cancelled).toBeInstanceOf(CancelledFailure);
  });

  it('keeps a failure that came from the server unchanged when it is rethrown', () => {
    const proto = { message: 'from server', source: 'OtherSDK', applicationFailureInfo: { type: 'X' } };
    expect(errorToFailure(failureToError(proto, converter), converter)).toBe(proto);
  });
});
