# cloud-init user data that bootstraps the Ansible user on a fresh server.
# Used by every clawtex stack, whatever the provider: Ansible takes over from here.

terraform {
  required_version = ">= 1.10.0"
}

variable "ansible_user" {
  type        = string
  description = "Login Ansible connects as; gets passwordless sudo."
}

variable "ssh_public_key" {
  type        = string
  description = "The ops SSH public key, passed in at apply time."
}

locals {
  # yamlencode quotes whatever the inputs hold; no text templating of YAML here.
  config = {
    users = [{
      name                = var.ansible_user
      groups              = ["sudo"]
      shell               = "/bin/bash"
      sudo                = ["ALL=(ALL) NOPASSWD:ALL"]
      ssh_authorized_keys = [var.ssh_public_key]
    }]
    ssh_pwauth   = false
    disable_root = true
  }
}

output "user_data" {
  value       = "#cloud-config\n${yamlencode(local.config)}"
  description = "Pass as the server's user_data."
}
