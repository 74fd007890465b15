# The exporter / CronJob image: the single linux binary on a minimal base. The binary embeds its
# Node.js runtime and needs glibc and libstdc++ (official Node builds), which distroless/cc has.
# Build it from a release archive or `npm run build` output, on linux-x64 (or set --platform):
#   npm ci && npm run build
#   docker build -t registry.example.com/kubectl-vcluster_certs:<version> .
# then pass the image to `kubectl vcluster-certs install --image ...`.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --chmod=0755 dist/kubectl-vcluster_certs /usr/local/bin/kubectl-vcluster_certs
USER 65532:65532
EXPOSE 9101
ENTRYPOINT ["/usr/local/bin/kubectl-vcluster_certs"]
CMD ["serve", "-A", "--source", "secret"]
