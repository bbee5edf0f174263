################################################################################
# RDS PostgreSQL: the usage ledger every replica writes (HEADROOM_DATABASE_URL)
################################################################################

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  description = "headroom-gateway ${var.name} usage ledger"
  subnet_ids  = var.subnet_ids
}

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-db-"
  description = "headroom-gateway ${var.name} PostgreSQL: 5432 from the cluster only"
  vpc_id      = local.vpc_id

  tags = { Name = "${var.name}-db" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the cluster's pods"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = local.cluster_security_group_id
}

# TLS only (the gateway connects with sslmode=require), and slow statements logged.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "postgres${split(".", var.database.engine_version)[0]}"
  description = "headroom-gateway ${var.name}: TLS required, statement logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume_role" {
  statement {
    sid     = "RdsMonitoringAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix        = "${var.name}-rds-mon-"
  description        = "RDS enhanced monitoring of the headroom-gateway ${var.name} ledger"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume_role.json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier_prefix = "${var.name}-"
  engine            = "postgres"
  engine_version    = var.database.engine_version
  instance_class    = var.database.instance_class
  allocated_storage = var.database.allocated_storage
  storage_type      = "gp3"
  storage_encrypted = true
  kms_key_id        = local.shared_state.kms_key_arn

  db_name  = "headroom"
  username = "headroom"
  password = random_password.database.result
  port     = 5432

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = true

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = 14
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]

  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.shared_state.kms_key_arn
  performance_insights_retention_period = 7
}
