@rem kubectl >= 1.26 runs this for `kubectl vcluster-certs <TAB>`: keep it on PATH
@rem next to kubectl-vcluster_certs.exe.
@kubectl-vcluster_certs.exe __complete %*
