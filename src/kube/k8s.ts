// The only module that imports @kubernetes/client-node. Commands import it
// lazily so --version/--help never evaluate the client (start-up time).
export {
  KubeConfig,
  CoreV1Api,
  AppsV1Api,
  CoordinationV1Api,
  AuthorizationV1Api,
  Exec,
  PortForward,
  ApiException,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  ResponseContext,
  SelfDecodingBody,
} from '@kubernetes/client-node';
export type {
  V1Pod,
  V1Secret,
  V1StatefulSet,
  V1Deployment,
  V1Status,
  V1Lease,
  Cluster,
  User,
  Context,
} from '@kubernetes/client-node';
// Not re-exported by the package index; needed to give Exec our own stream sinks
// (its default sinks are process.stdout/stderr, which a v5 close frame would end).
export { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
// Request middleware must return the generated client's Observable stub.
export { of as observableOf, from as observableFrom } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
