# Shell helpers shared by the gitops scripts (apply-stack.sh, dr-drill.sh). Sourced; each reads
# the caller's $dir (a stack directory with cdk.tf.json), $stack and $tmp (a private work directory).

# The stack's outputs (sensitive ones too: backup credentials, load balancer ids) as the play's
# clawtex_tf_outputs[stack][name], in a 0600 file outside generated/: never on a command line, in a
# log or in the repository (docs/fresh-account.md, docs/backups.md).
write_outputs() {
  (umask 077; terraform -chdir="$dir" output -json > "$tmp/tf-outputs.raw.json")
  # A sensitive output is no GitHub secret: the runner hides it from the log only once told
  # (workflow command ::add-mask::, one line at a time). printf is bash's builtin: no command line.
  while IFS= read -r line; do
    if [ -n "$line" ]; then printf '::add-mask::%s\n' "$line"; fi
  done < <(jq -r '.[] | select(.sensitive) | .value | if type == "string" then . else tojson end' "$tmp/tf-outputs.raw.json")
  (umask 077; jq --arg s "$stack" '{clawtex_tf_outputs: {($s): with_entries(.value |= .value)}}' "$tmp/tf-outputs.raw.json" > "$tmp/tf-outputs.json")
  rm -f "$tmp/tf-outputs.raw.json"
}

# The ops SSH key (GitHub secret OPS_SSH_PRIVATE_KEY) where ssh and Ansible look for it.
ssh_key() {
  install -m 700 -d ~/.ssh
  printf '%s\n' "$OPS_SSH_PRIVATE_KEY" > ~/.ssh/id_ed25519
  chmod 600 ~/.ssh/id_ed25519
}
