variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource's name; one prefix per environment."
  type        = string
  default     = "seckill"
}

variable "admin_token" {
  description = "Bearer token of the admin API, at least 32 characters (openssl rand -hex 32)."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.admin_token) >= 32
    error_message = "admin_token must be at least 32 characters."
  }
}

variable "store_timeout" {
  description = "Deadline of each DynamoDB call."
  type        = string
  default     = "2s"
}

variable "request_timeout" {
  description = "Bound on a request's whole wait on DynamoDB, retries included; past it the client hears 503 try-again."
  type        = string
  default     = "2500ms"
}

variable "grab_reserved_concurrency" {
  description = "Instances the grab function may run at once; it caps the write rate a stampede pushes at the table. Lambda keeps 100 of the account's limit unreserved."
  type        = number
  default     = 200
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept."
  type        = number
  default     = 14
}
