"""boto3's face of fastconverse: its client line, its calls and answers, its names and errors."""
