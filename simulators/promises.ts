/**
 * Marks a promise's rejection as handled while still delivering it to whoever awaits it. Simulator
 * actions are often fired and forgotten by scripts (a truck driving on while a seal is read); when the
 * simulator stops, their rejection must not become an unhandled rejection that kills the process.
 */
export function forgivingPromise<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => undefined);
    return promise;
}
