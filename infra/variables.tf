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
  description = "Bearer token of the admin API, at least 32 characters (openssl rand -hex 32); empty when admin_scope admits admins by their OIDC tokens."
  type        = string
  sensitive   = true
  default     = ""
  validation {
    condition     = length(var.admin_token) >= 32 || var.admin_token == ""
    error_message = "admin_token must be at least 32 characters."
  }
}

variable "admin_scope" {
  description = "A scope or group (of customer_issuer's tokens) that admits its bearer as an admin; empty admits admins by admin_token only."
  type        = string
  default     = ""
  validation {
    condition     = var.admin_scope != "" || var.admin_token != ""
    error_message = "Set admin_token, admin_scope or both, or no admin can sign in."
  }
}

variable "customer_issuer" {
  description = "The OpenID Connect issuer of customers' tokens, exactly as their iss says (https://TENANT.auth0.com/, https://cognito-idp.REGION.amazonaws.com/POOL, ...)."
  type        = string
  validation {
    condition     = startswith(var.customer_issuer, "https://")
    error_message = "customer_issuer must be an https URL."
  }
}

variable "customer_audience" {
  description = "The audience customers' tokens must carry in aud (Cognito: the app client id)."
  type        = string
  validation {
    condition     = length(var.customer_audience) > 0
    error_message = "customer_audience must be set."
  }
}

variable "customer_claim" {
  description = "The claim that names the customer."
  type        = string
  default     = "sub"
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

variable "cors_origins" {
  description = "Browser origins (https://shop.example) allowed to call the API; empty for none."
  type        = list(string)
  default     = []
}

variable "throttle_burst" {
  description = "Requests the API takes at once before answering 429, on every route."
  type        = number
  default     = 5000
}

variable "throttle_rate" {
  description = "Steady requests per second the API takes, on every route."
  type        = number
  default     = 10000
}

variable "grab_throttle_burst" {
  description = "Burst of the grab route, below the API's so that a bot flood on it leaves the rest of the API alone."
  type        = number
  default     = 2000
}

variable "grab_throttle_rate" {
  description = "Steady grabs per second the gateway passes to the grab function; past it, 429 at the gateway."
  type        = number
  default     = 2000
}

variable "alarm_email" {
  description = "An e-mail address the alarms are sent to (confirm the subscription); empty for none."
  type        = string
  default     = ""
}

variable "iterator_age_threshold_ms" {
  description = "How far behind the sale table's stream the projector may read before it alarms."
  type        = number
  default     = 60000
}

variable "api_5xx_threshold" {
  description = "5xx answers a minute past which the API alarms."
  type        = number
  default     = 10
}

variable "grant_write_units_threshold" {
  description = "Write units DynamoDB reports per grant, on average over a minute, past which the grab function alarms: one grant a transaction costs 4 (a shard decrement and a coupon put, 2 each) while items stay under 1 KB."
  type        = number
  default     = 4.5
}

variable "rejection_read_units_threshold" {
  description = "Read units per sold-out answer, on average over a minute, past which the grab function alarms: an instance answers from memory once it has loaded a promotion's holders, so a rise means holders read again and again (more holders than GRAB_MAX_HOLDERS, or instances starting cold)."
  type        = number
  default     = 0.5
}
