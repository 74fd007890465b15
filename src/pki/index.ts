// Public API of the pure PKI core (no I/O anywhere under src/pki/).

export type { PkiFiles, CertStatus, KeyInfo, CertInfo, CertRow } from './types.js';
export { splitPem, encodePem, looksLikePem, firstPemBlock, type PemBlock } from './pem.js';
export {
  parseCertificate,
  parseCertificates,
  sha256Fingerprint,
  isIssuedBy,
  isSelfSigned,
  certMatchesKey,
  keyTypeOf,
} from './x509.js';
export { describeKey, parsePrivateKey, parsePublicKey, privateKeyMatchesPublic } from './keys.js';
export {
  parseKubeconfig,
  currentCredentials,
  type Kubeconfig,
  type KubeconfigCluster,
  type KubeconfigUser,
  type KubeconfigContext,
} from './kubeconfig.js';
export { replaceKubeconfigCredentials, type CredentialReplacement } from './kubeconfig-edit.js';
export {
  CERT_MAP_FILES,
  CA_CERT_FILES,
  ROOT_CA_FILES,
  LEAF_CERT_FILES,
  LEAF_ISSUERS,
  KUBECONFIG_FILES,
  SA_FILES,
  fileRole,
  isCertMapFile,
  keyPathFor,
  secretKeyForFile,
  fileForSecretKey,
  filesFromSecretData,
  secretDataFromFiles,
  missingCertMapFiles,
  unknownFiles,
  isSplitCA,
  expectedIssuer,
  kubeconfigTrustAnchor,
  type FileRole,
  type SecretDataOptions,
} from './certmap.js';
export { inspectPki, diffPki, rfc3339, type InspectOptions, type PkiDrift } from './inspect.js';
export {
  KeyPair,
  generateKeyLike,
  keySpecOf,
  reissueLeaf,
  createCA,
  randomSerialHex,
  type KeySpec,
  type ReissueOptions,
  type CreateCAOptions,
} from './issue.js';
export {
  MIN_VALIDITY_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  DEFAULT_CA_VALIDITY_MS,
  planLeafRotation,
  applyLeafRotation,
  planCARotation,
  applyCARotation,
  pkiDigest,
  type RotationPlan,
  type PlanEntry,
  type PlanAction,
  type LeafRotationOptions,
  type CARotationOptions,
} from './rotation.js';
export { verifyPki, type VerifyOptions } from './verify.js';
